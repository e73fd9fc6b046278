/**
 * The public figures of the community auction (spec/market.md stage 2) on secret orders — V*, the
 * margins bm and sm with what their orders share (R) and ask (M), and p* — opening nothing else, and
 * each order's volume split into fully filled, marginal and unfilled, still shared.
 *
 * 1. **Crossing, kept secret.** p1 = max{c : D(c) ≥ S(c)} by the bitwise search with secret outcomes:
 *    every step's bit stays shared and updates the orders' state by multiplication. p1 itself is not
 *    among the outputs the spec allows (when D(p1 + 1) = S(p1) it lies strictly inside [sm, bm] and
 *    would tell where a supply step sits), so it is never opened.
 * 2. **V\*** = max(S(p1), D(p1 + 1)), both sums of the final state; opened (allowed).
 * 3. **Margins, opened.** With V* public, bm = max{c : D(c) ≥ V*} and sm − 1 = max{c : S(c) < V*}
 *    are searches whose outcomes are the bits of allowed outputs; both run in the same 16 steps.
 *    The maximisers of min(D, S) are exactly [sm, bm], so p* = ⌊(sm + bm)/2⌋.
 * @module
 */
import { add, concat, mul, open, publicShared, type Shared, slice, sub } from "../arithmetic.ts";
import { lessThanZero, lessThanZeroOpened, oneMinus } from "../compare.ts";
import type { Party } from "../party.ts";
import {
  advanceDigit,
  bitPlane,
  differenceBits,
  digitHits,
  digitProducts,
  PRICE_BITS,
  PRICE_DIGITS,
  type SharedSide,
  type SideState,
  startState,
  total,
  volumeAtOrAbove,
  zeros,
} from "./book.ts";

/** One side's public rationing figures, as spec/market.md names them. */
export interface SideMargin {
  /** bm or sm. */
  price: number;
  /** R: the volume the marginal orders share. */
  sharedWh: bigint;
  /** M: the marginal orders' total volume. */
  marginalWh: bigint;
}

/** One side's orders split by the margin, as shares aligned with the side's orders. */
export interface SideSplit {
  /** v for orders beyond the margin, else 0. */
  full: Shared;
  /** v for orders at the margin, else 0. */
  marginal: Shared;
}

/** The auction's public figures and the shared split of every order. */
export type AuctionMargins =
  | { volumeWh: 0n }
  | {
      volumeWh: bigint;
      clearingPrice: number;
      buy: SideMargin;
      sell: SideMargin;
      buys: SideSplit;
      sells: SideSplit;
    };

/** Finds V*, bm, sm, R, M and p* on a loaded book; `volumeBits` bounds every volume. */
export async function findMargins(
  party: Party,
  buy: SharedSide,
  sell: SharedSide,
  volumeBits: number,
): Promise<AuctionMargins> {
  const bits = differenceBits(volumeBits, Math.max(buy.count, sell.count));
  // Sells at q = 0 have q − 1 = −1 (all ones); they leave the recurrence and count as supply at
  // every price, so S(c) = total − volume with q − 1 ≥ c.
  const zeroPriced = await mul(party, sell.volumes, bitPlane(sell, PRICE_BITS));
  const sellStart: SideState = startState(sub(sell.volumes, zeroPriced));
  const sellTotal = total(sell.volumes);

  const [buyPairs, sellPairs] = (await digitProducts(party, [buy, sell])) as [Shared, Shared];
  const crossing = await secretCrossing(
    party,
    buy,
    sell,
    [buyPairs, sellPairs],
    [summedAbove(startState(buy.volumes)), summedAbove(sellStart)],
    sellTotal,
    bits,
  );
  const volumeWh = (await open(party, crossing.maxVolume))[0] as bigint;
  if (volumeWh === 0n) return { volumeWh: 0n };
  const volume = publicShared(party.id, new BigUint64Array([volumeWh]));

  // Opened searches for bm (buys) and sm − 1 (sells), a base-4 digit per step, both in the same
  // steps; S(0) < V* decides sm = 0.
  let buyState = startState(buy.volumes);
  let sellState = sellStart;
  let buyMargin = 0;
  let sellBelow = 0;
  let supplyAtZeroShort = false;
  for (let digit = PRICE_DIGITS - 1; digit >= 0; digit--) {
    const [buyHits, sellHits] = (await digitHits(party, [
      { state: buyState, side: buy, pairs: buyPairs, digit },
      { state: sellState, side: sell, pairs: sellPairs, digit },
    ])) as [Hits, Hits];
    const checks = [
      ...buyHits.map((hit) => sub(volumeAtOrAbove(buyState, hit), volume)),
      ...sellHits.map((hit) => sub(sub(sellTotal, volumeAtOrAbove(sellState, hit)), volume)),
    ];
    if (digit === PRICE_DIGITS - 1) checks.push(sub(total(zeroPriced), volume));
    const short = await lessThanZeroOpened(party, concatScalars(checks), bits);
    // D falls and S rises with the candidate: the digit is how many candidates pass.
    const buyDigit = [0, 1, 2].filter((k) => short[k] === 0).length;
    const sellDigit = [3, 4, 5].filter((k) => short[k] === 1).length;
    if (digit === PRICE_DIGITS - 1) supplyAtZeroShort = short[6] === 1;
    buyMargin |= buyDigit << (2 * digit);
    sellBelow |= sellDigit << (2 * digit);
    buyState = advanceDigit(buyState, buyHits, buyDigit);
    sellState = advanceDigit(sellState, sellHits, sellDigit);
  }
  const sellMargin = supplyAtZeroShort ? sellBelow + 1 : 0;
  const buys: SideSplit = { full: buyState.above, marginal: buyState.equal };
  // With sm ≥ 1 the marginal sells have q − 1 = sm − 1 and the full ones everything below it (q = 0
  // included); with sm = 0 the marginal sells are exactly those at q = 0.
  const sells: SideSplit = supplyAtZeroShort
    ? { full: sub(sub(sell.volumes, sellState.above), sellState.equal), marginal: sellState.equal }
    : { full: zeros(sell.count), marginal: zeroPriced };
  const [buyFull, buyMarginal, sellFull, sellMarginal] = await open(
    party,
    concatScalars([total(buys.full), total(buys.marginal), total(sells.full), total(sells.marginal)]),
  );
  return {
    volumeWh,
    clearingPrice: Math.floor((sellMargin + buyMargin) / 2),
    buy: { price: buyMargin, sharedWh: volumeWh - (buyFull as bigint), marginalWh: buyMarginal as bigint },
    sell: {
      price: sellMargin,
      sharedWh: volumeWh - (sellFull as bigint),
      marginalWh: sellMarginal as bigint,
    },
    buys,
    sells,
  };
}

/**
 * The crossing search with secret outcomes. Each step: one round for the hits, a comparison whose
 * 0/1 result d stays shared, and one round to apply it: equal' = equal − hit + d·(2·hit − equal),
 * above' = above + hit − d·hit. Returns V* = max(S(p1), D(p1 + 1)) as a shared scalar.
 */
async function secretCrossing(
  party: Party,
  buy: SharedSide,
  sell: SharedSide,
  pairs: readonly [Shared, Shared],
  starts: readonly [SideState, SideState],
  sellTotal: Shared,
  bits: number,
): Promise<{ maxVolume: Shared }> {
  let [buyState, sellState] = starts;
  for (let digit = PRICE_DIGITS - 1; digit >= 0; digit--) {
    const [buyHits, sellHits] = (await digitHits(party, [
      { state: buyState, side: buy, pairs: pairs[0], digit },
      { state: sellState, side: sell, pairs: pairs[1], digit },
    ])) as [Hits, Hits];
    const gaps = [0, 1, 2].map((k) =>
      sub(
        volumeAtOrAbove(buyState, buyHits[k] as Shared),
        sub(sellTotal, volumeAtOrAbove(sellState, sellHits[k] as Shared)),
      ),
    );
    // t_k = [D(c_k) ≥ S(c_k)] for the candidates c_1 < c_2 < c_3, shared: t_1 ≥ t_2 ≥ t_3.
    const taken = oneMinus(party, await lessThanZero(party, concatScalars(gaps), bits));
    [buyState, sellState] = (await advanceSecret(
      party,
      [buyState, sellState],
      [buyHits, sellHits],
      taken,
    )) as [SideState, SideState];
  }
  // D(p1 + 1) = Σ above on the buy side; S(p1) = total − Σ (above + equal) on the sell side.
  const demandAbove = total(buyState.above);
  const supplyAt = sub(sellTotal, add(total(sellState.above), total(sellState.equal)));
  const supplyLarger = await lessThanZero(party, sub(demandAbove, supplyAt), bits);
  const gain = await mul(party, supplyLarger, sub(supplyAt, demandAbove));
  return { maxVolume: add(demandAbove, gain) };
}

/** The volume at digit ≥ 1, 2, 3 among a side's equal orders. */
type Hits = [Shared, Shared, Shared];

/**
 * Applies shared outcomes t_1 ≥ t_2 ≥ t_3 to several sides' states (`above` summed) in one
 * multiplication round. With
 * h_k the volume at digit ≥ k among the equal orders (h_0 = equal, h_4 = 0), the digit is δ = Σ t_k and
 * above' = above + h_{δ+1} = above + h_1 + t_1(h_2 − h_1) + t_2(h_3 − h_2) − t_3·h_3,
 * equal' = h_δ − h_{δ+1} = equal − h_1 + t_1(2h_1 − equal − h_2) + t_2(2h_2 − h_1 − h_3) + t_3(2h_3 − h_2).
 */
async function advanceSecret(
  party: Party,
  states: readonly SideState[],
  hits: readonly Hits[],
  taken: Shared,
): Promise<SideState[]> {
  const lefts: Shared[] = [];
  const rights: Shared[] = [];
  states.forEach((state, k) => {
    const [h1, h2, h3] = hits[k] as Hits;
    const n = h1.own.length;
    const [t1, t2, t3] = [0, 1, 2].map((j) => broadcast(slice(taken, j, j + 1), n)) as [
      Shared,
      Shared,
      Shared,
    ];
    const scalars = [0, 1, 2].map((j) => slice(taken, j, j + 1));
    const twice = (x: Shared) => add(x, x);
    // `above` is only ever summed here, so it is kept as its sum: three scalar products, not three per order.
    lefts.push(...scalars, t1, t2, t3);
    rights.push(
      total(sub(h2, h1)),
      total(sub(h3, h2)),
      total(sub(zerosLike(h3), h3)),
      sub(sub(twice(h1), state.equal), h2),
      sub(sub(twice(h2), h1), h3),
      sub(twice(h3), h2),
    );
  });
  const products = await mulPairs(party, lefts, rights);
  return states.map((state, k) => {
    const [h1] = hits[k] as Hits;
    const [a1, a2, a3, e1, e2, e3] = products.slice(6 * k, 6 * k + 6) as Shared[];
    return {
      above: add(add(add(state.above, total(h1)), add(a1 as Shared, a2 as Shared)), a3 as Shared),
      equal: add(add(sub(state.equal, h1), add(e1 as Shared, e2 as Shared)), e3 as Shared),
    };
  });
}

/** A state whose `above` is kept as its sum (a shared scalar). */
function summedAbove(state: SideState): SideState {
  return { equal: state.equal, above: total(state.above) };
}

function zerosLike(x: Shared): Shared {
  return zeros(x.own.length);
}

/** Several element-wise products in one round. */
async function mulPairs(
  party: Party,
  lefts: readonly Shared[],
  rights: readonly Shared[],
): Promise<Shared[]> {
  const product = await mul(party, concat(lefts), concat(rights));
  let at = 0;
  return lefts.map((left) => {
    const part = slice(product, at, at + left.own.length);
    at += left.own.length;
    return part;
  });
}

/** A shared scalar repeated n times (local). */
function broadcast(scalar: Shared, n: number): Shared {
  return {
    own: new BigUint64Array(n).fill(scalar.own[0] as bigint),
    next: new BigUint64Array(n).fill(scalar.next[0] as bigint),
  };
}

/** Shared scalars as one vector. */
function concatScalars(scalars: readonly Shared[]): Shared {
  return {
    own: BigUint64Array.from(scalars.map((s) => s.own[0] as bigint)),
    next: BigUint64Array.from(scalars.map((s) => s.next[0] as bigint)),
  };
}
