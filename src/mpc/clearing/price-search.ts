/**
 * The search-based double auction of the MP-SPDZ anchor (research/mpspdz-anchor.md §3.1), on secret
 * orders: p* = max{c : D(c) ≥ S(c)} with D(c) = Σ buy volume at limit ≥ c and S(c) = Σ sell volume
 * at limit ≤ c; a buy fills fully when its limit > p*, a sell when its limit < p*.
 *
 * The grid is searched a base-4 digit per step (the recurrence of book.ts, eight steps): per order and
 * step three products give its volume at digit ≥ 1, 2, 3, and one opened comparison call decides the
 * three candidates at once — the digit of p* is how many satisfy D ≥ S, which this workload reveals.
 * Half the steps of a bit per step, for two more products per order and step.
 * @module
 */
import { add, concat, dotSegments, mul, mulPairs, type Shared, slice, sub } from "../arithmetic.ts";
import { lessThanPublic, lessThanZeroOpened } from "../compare.ts";
import type { Party } from "../party.ts";
import {
  bitPlane,
  differenceBits,
  digitProducts,
  loadBook,
  PRICE_BITS,
  PRICE_DIGITS,
  SELL_PRICE_BITS,
  type SharedSide,
  type SideState,
  sellLimitLessOne,
  startState,
  total,
  volumeAtOrAbove,
  zeros,
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
  const pairs = (await digitProducts(party, [buy, sell])) as [Shared, Shared];

  let prefix = 0;
  let states: SideState[] = [startState(buy.volumes), startState(sell.volumes)];
  for (let digit = PRICE_DIGITS - 1; digit >= 0; digit--) {
    const [buyHits, sellHits] = (await digitHits(party, [buy, sell], states, pairs, digit)) as [Hits, Hits];
    const [buyState, sellState] = states as [SideState, SideState];
    // Candidate k: the prefix, then digit k, then zeros. S(c) = all sell volume less the volume at
    // q − 1 ≥ c, i.e. q > c.
    const gaps = [0, 1, 2].map((k) =>
      sub(
        volumeAtOrAbove(buyState, buyHits[k] as Shared),
        sub(supplyBase, volumeAtOrAbove(sellState, sellHits[k] as Shared)),
      ),
    );
    const short = await lessThanZeroOpened(party, concat(gaps), bits);
    // D falls and S rises with the candidate: the digit is how many candidates pass.
    const value = [0, 1, 2].filter((k) => short[k] === 0).length;
    prefix |= value << (2 * digit);
    states = [advanceDigit(buyState, buyHits, value), advanceDigit(sellState, sellHits, value)];
  }

  // A sell fills when q < p*, i.e. q − 1 < p* − 1: one comparison and one product per sell.
  const below = await lessThanPublic(party, sellLimitLessOne(sell), BigInt(prefix - 1), SELL_PRICE_BITS + 1);
  const sellFills = await mul(party, below, sell.volumes);
  return { clearingPrice: prefix, buyFills: (states[0] as SideState).above, sellFills };
}

/** The volume at digit ≥ 1, 2, 3 among a side's equal orders. */
type Hits = [Shared, Shared, Shared];

/**
 * Each side's hits at one digit, in one round: equal·hi, equal·lo and equal·(hi·lo) per order give
 * digit ≥ 1 (hi ∨ lo = hi + lo − hi·lo), ≥ 2 (hi) and ≥ 3 (hi·lo).
 */
async function digitHits(
  party: Party,
  sides: readonly SharedSide[],
  states: readonly SideState[],
  pairs: readonly Shared[],
  digit: number,
): Promise<Hits[]> {
  const lefts: Shared[] = [];
  const rights: Shared[] = [];
  sides.forEach((side, s) => {
    const equal = (states[s] as SideState).equal;
    const both = slice(pairs[s] as Shared, digit * side.count, (digit + 1) * side.count);
    lefts.push(equal, equal, equal);
    rights.push(bitPlane(side, 2 * digit + 1), bitPlane(side, 2 * digit), both);
  });
  const products = await mulPairs(party, lefts, rights);
  return sides.map((_, s) => {
    const [high, low, both] = products.slice(3 * s, 3 * s + 3) as Hits;
    return [sub(add(high, low), both), high, both];
  });
}

/** Moves a state past a digit whose value (0 … 3) is public: above gains digit > value, equal keeps digit = value. */
function advanceDigit(state: SideState, hits: Hits, value: number): SideState {
  const atLeast = (k: number) =>
    k === 0 ? state.equal : k <= 3 ? (hits[k - 1] as Shared) : zeros(state.equal.own.length);
  return { equal: sub(atLeast(value), atLeast(value + 1)), above: add(state.above, atLeast(value + 1)) };
}
