/**
 * The search-based double auction of the MP-SPDZ anchor (research/mpspdz-anchor.md §3.1), on secret
 * orders: p* = max{c : D(c) ≥ S(c)} with D(c) = Σ buy volume at limit ≥ c and S(c) = Σ sell volume
 * at limit ≤ c; a buy fills fully when its limit > p*, a sell when its limit < p*.
 *
 * Each of the 16 steps is one multiplication per order (the recurrence of book.ts) and one opened
 * comparison of the two sums: the outcome of D ≥ S is a bit of p*, which this workload reveals.
 * @module
 */
import { add, dotSegments, mul, type Shared, sub } from "../../mpc/arithmetic.ts";
import { lessThanPublic, lessThanZeroOpened } from "../../mpc/compare.ts";
import type { Party } from "../../mpc/party.ts";
import {
  advance,
  bitPlane,
  differenceBits,
  loadBook,
  PRICE_BITS,
  SELL_PRICE_BITS,
  sellLimitLessOne,
  startState,
  stepHits,
  total,
  volumeAtOrAbove,
} from "./book.ts";

/** The public and secret results of the search. */
export interface PriceSearchResult {
  clearingPrice: number;
  buyFills: Shared;
  sellFills: Shared;
}

/** Runs the search on a book in the layout of book.ts; `volumeBits` bounds every volume. */
export async function searchClearingPrice(
  party: Party,
  inputs: Shared,
  buys: number,
  sells: number,
  volumeBits: number,
): Promise<PriceSearchResult> {
  const { buy, sell } = await loadBook(party, inputs, buys, sells);
  // Sells with q = 0 have q − 1 = −1, all ones: the recurrence ranks them above every price, so their
  // volume is added back to S; their fills come from the final comparison.
  const zeroPriced = await dotSegments(party, sell.volumes, bitPlane(sell, PRICE_BITS), [sells]);
  const supplyBase = add(total(sell.volumes), zeroPriced);
  const bits = differenceBits(volumeBits, Math.max(buys, sells));

  let prefix = 0;
  let buyState = startState(buy.volumes);
  let sellState = startState(sell.volumes);
  for (let t = PRICE_BITS - 1; t >= 0; t--) {
    const [buyHit, sellHit] = (await stepHits(party, [
      { state: buyState, bit: bitPlane(buy, t) },
      { state: sellState, bit: bitPlane(sell, t) },
    ])) as [Shared, Shared];
    // S(c) = all sell volume less the volume at q − 1 ≥ c, i.e. q > c.
    const demand = volumeAtOrAbove(buyState, buyHit);
    const supply = sub(supplyBase, volumeAtOrAbove(sellState, sellHit));
    const [short] = await lessThanZeroOpened(party, sub(demand, supply), bits);
    const taken = short === 0;
    if (taken) prefix |= 1 << t;
    buyState = advance(buyState, buyHit, taken);
    sellState = advance(sellState, sellHit, taken);
  }

  // A sell fills when q < p*, i.e. q − 1 < p* − 1: one comparison and one product per sell.
  const below = await lessThanPublic(party, sellLimitLessOne(sell), BigInt(prefix - 1), SELL_PRICE_BITS + 1);
  const sellFills = await mul(party, below, sell.volumes);
  return { clearingPrice: prefix, buyFills: buyState.above, sellFills };
}
