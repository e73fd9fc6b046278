/**
 * The public figures of the community auction (spec/market.md stage 2) on secret orders — V*, the
 * margins bm and sm with what their orders share (R) and ask (M), and p* — opening nothing else, and
 * each order's volume split into fully filled, marginal and unfilled, still shared.
 *
 * 1. **Crossing, kept secret.** p1 = max{c : D(c) ≥ S(c)} by the bitwise search with secret outcomes:
 *    every step's bit stays shared and updates the orders' state by multiplication. p1 itself is not
 *    among the outputs the spec allows (when D(p1 + 1) = S(p1) it lies strictly inside [sm, bm] and
 *    would tell where a supply step sits), so it is never opened.
 * 2. **V\*** = max(S(p1), D(p1 + 1)), both sums of the final state; opened (allowed). In a band
 *    [lo, hi] narrower than the orders' limits (a split-off zone), min(V*, S(hi), D(lo)).
 * 3. **Margins, opened.** With V* public, bm = max{c : D(c) ≥ V*} and sm − 1 = max{c : S(c) < V*}
 *    are searches whose outcomes are the bits of allowed outputs; both run in the same 16 steps.
 *    The maximisers of min(D, S) are exactly [sm, bm], so p* = ⌊(max(sm, lo) + min(bm, hi))/2⌋.
 *
 * Market splitting adds public flow orders: on the grid they are orders of the book like any other;
 * a flow that takes any price ({@link AuctionTerms}) is a public volume added to D or S everywhere.
 * @module
 */
import { ABOVE_GRID, BELOW_GRID, type PriceBand } from "../../market/auction.ts";
import { add, concat, dotSegments, mul, open, publicShared, type Shared, slice, sub } from "../arithmetic.ts";
import { lessThanPublic, lessThanZero, lessThanZeroOpened, oneMinus } from "../compare.ts";
import type { Party } from "../party.ts";
import {
  advanceDigit,
  bitPlane,
  differenceBits,
  digitHits,
  digitProducts,
  limitValues,
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

/** One side's orders split by the margin, as shares aligned with the side's orders, and what its marginal orders share. */
export interface SideSplit {
  /** v for orders beyond the margin, else 0. */
  full: Shared;
  /** v for orders at the margin, else 0. */
  marginal: Shared;
  /** R of the book's orders: what they share at the margin (0 when a flow order is the margin). */
  sharedWh: bigint;
  /** M of the book's orders: their volume at the margin. */
  marginalWh: bigint;
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

/**
 * How one auction of market splitting (docs/market-splitting.md) differs from the slot's plain
 * auction: the price may be searched in a narrower band, and a split-off zone's fixed flow takes part
 * as an order that takes any price. Flow volumes are public: they are DSO limits or zone net exports.
 */
export interface AuctionTerms {
  /** Where the clearing price is searched. */
  readonly band: PriceBand;
  /** Where the book's limits lie: the slot's tariffs, which validation enforces. */
  readonly limits: PriceBand;
  /** A buy that pays any price (limit one step above the grid): an exporting zone's flow. */
  readonly anyPriceBuyWh: bigint;
  /** A sell that takes any price (limit one step below the grid): an importing zone's flow. */
  readonly anyPriceSellWh: bigint;
}

const WHOLE_GRID: PriceBand = { feedIn: 0, retail: 2 ** PRICE_BITS - 1 };

/** The plain auction of spec/market.md: the whole grid, no flows. */
export const PLAIN_AUCTION: AuctionTerms = {
  band: WHOLE_GRID,
  limits: WHOLE_GRID,
  anyPriceBuyWh: 0n,
  anyPriceSellWh: 0n,
};

/** Finds V*, bm, sm, R, M and p* on a loaded book; `volumeBits` bounds every volume. */
export async function findMargins(
  party: Party,
  buy: SharedSide,
  sell: SharedSide,
  volumeBits: number,
  terms: AuctionTerms = PLAIN_AUCTION,
): Promise<AuctionMargins> {
  // One more order per side: the flow, whose volume is bounded like any other.
  const bits = differenceBits(volumeBits, Math.max(buy.count, sell.count) + 1);
  const scalar = (value: bigint) => publicScalar(party, value);
  // Sells at q = 0 have q − 1 = −1 (all ones); they leave the recurrence and count as supply at
  // every price, so S(c) = total − volume with q − 1 ≥ c. A sell that takes any price does the same.
  const zeroPriced = await mul(party, sell.volumes, bitPlane(sell, PRICE_BITS));
  const sellStart: SideState = startState(sub(sell.volumes, zeroPriced));
  const sellTotal = add(total(sell.volumes), scalar(terms.anyPriceSellWh));

  const [buyPairs, sellPairs] = (await digitProducts(party, [buy, sell])) as [Shared, Shared];
  const crossing = await secretCrossing(
    party,
    buy,
    sell,
    [buyPairs, sellPairs],
    // A buy that pays any price is above every candidate from the start.
    [{ equal: buy.volumes, above: scalar(terms.anyPriceBuyWh) }, summedAbove(sellStart)],
    sellTotal,
    bits,
  );
  const maxVolume = await capToBand(party, crossing.maxVolume, buy, sell, sellTotal, terms, bits);
  const volumeWh = (await open(party, maxVolume))[0] as bigint;
  if (volumeWh === 0n) return { volumeWh: 0n };
  const volume = scalar(volumeWh);
  // D(c) ≥ V* compares the book's volume with what the flow leaves of V* (negative: every c passes).
  const buyGoal = scalar(volumeWh - terms.anyPriceBuyWh);

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
      ...buyHits.map((hit) => sub(volumeAtOrAbove(buyState, hit), buyGoal)),
      ...sellHits.map((hit) => sub(sub(sellTotal, volumeAtOrAbove(sellState, hit)), volume)),
    ];
    if (digit === PRICE_DIGITS - 1)
      checks.push(sub(add(total(zeroPriced), scalar(terms.anyPriceSellWh)), volume));
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
  // A flow that alone reaches V* is the margin by itself (bm above the grid, sm below it): the
  // book's orders then get nothing, which the nodes know from public figures.
  const buyFlowIsMargin = terms.anyPriceBuyWh >= volumeWh;
  const sellFlowIsMargin = terms.anyPriceSellWh >= volumeWh;
  const buySplit = buyFlowIsMargin ? nothing(buy.count) : { full: buyState.above, marginal: buyState.equal };
  // With sm ≥ 1 the marginal sells have q − 1 = sm − 1 and the full ones everything below it (q = 0
  // included); with sm = 0 the marginal sells are exactly those at q = 0.
  const sellSplit = sellFlowIsMargin
    ? nothing(sell.count)
    : supplyAtZeroShort
      ? { full: sub(sub(sell.volumes, sellState.above), sellState.equal), marginal: sellState.equal }
      : { full: zeros(sell.count), marginal: zeroPriced };
  const [buyFull, buyMarginal, sellFull, sellMarginal] = (await open(
    party,
    concatScalars([
      total(buySplit.full),
      total(buySplit.marginal),
      total(sellSplit.full),
      total(sellSplit.marginal),
    ]),
  )) as unknown as [bigint, bigint, bigint, bigint];
  const buyPrice = buyFlowIsMargin ? ABOVE_GRID : buyMargin;
  const sellPrice = sellFlowIsMargin ? BELOW_GRID : supplyAtZeroShort ? sellBelow + 1 : 0;
  const buys = sideOutcome(buySplit, buyPrice, volumeWh, terms.anyPriceBuyWh, buyFull, buyMarginal);
  const sells = sideOutcome(sellSplit, sellPrice, volumeWh, terms.anyPriceSellWh, sellFull, sellMarginal);
  // The maximisers of min(D, S) in the band are [max(sm, lo), min(bm, hi)].
  const low = Math.max(sellPrice, terms.band.feedIn);
  const high = Math.min(buyPrice, terms.band.retail);
  return {
    volumeWh,
    clearingPrice: Math.floor((low + high) / 2),
    buy: buys.margin,
    sell: sells.margin,
    buys: buys.split,
    sells: sells.split,
  };
}

/**
 * One side's public figures (spec/market.md's R and M, a flow order counted like any order) and
 * what the book's own marginal orders share. A flow beyond the margin is filled in full, so the book's
 * orders share R; a flow that is the margin takes all of V*.
 */
function sideOutcome(
  split: { full: Shared; marginal: Shared },
  price: number,
  volumeWh: bigint,
  anyPriceWh: bigint,
  fullWh: bigint,
  marginalWh: bigint,
): { margin: SideMargin; split: SideSplit } {
  if (anyPriceWh >= volumeWh) {
    return {
      margin: { price, sharedWh: volumeWh, marginalWh: anyPriceWh },
      split: { ...split, sharedWh: 0n, marginalWh: 0n },
    };
  }
  const sharedWh = volumeWh - anyPriceWh - fullWh;
  return { margin: { price, sharedWh, marginalWh }, split: { ...split, sharedWh, marginalWh } };
}

/**
 * V* within the band: as D falls and S rises, the most min(D, S) reaches on [lo, hi] is
 * min(max(S(p1), D(p1 + 1)), S(hi), D(lo)). The caps matter only where the crossing alone is wrong:
 * a band narrower than the orders' limits (a split-off zone); no crossing on the grid, when sells at
 * q = 0 or a sell flow give D(0) < S(0) (then V* = D(0)); a buy flow above the grid, which
 * D(p1 + 1) would count at p1 = 65535 (then V* = S(65535)). S(hi) and D(lo) stay shared.
 */
async function capToBand(
  party: Party,
  maxVolume: Shared,
  buy: SharedSide,
  sell: SharedSide,
  sellTotal: Shared,
  terms: AuctionTerms,
  bits: number,
): Promise<Shared> {
  const { band, limits } = terms;
  const limitBits = PRICE_BITS + 2;
  let volume = maxVolume;
  if (band.retail < limits.retail || terms.anyPriceBuyWh > 0n) {
    let supply = sellTotal;
    if (band.retail < limits.retail) {
      const atMost = await lessThanPublic(
        party,
        limitValues(sell, true, party),
        BigInt(band.retail + 1),
        limitBits,
      );
      const offered = await dotSegments(party, sell.volumes, atMost, [sell.count]);
      supply = add(offered, publicScalar(party, terms.anyPriceSellWh));
    }
    volume = await minimum(party, volume, supply, bits);
  }
  if (band.feedIn > limits.feedIn || limits.feedIn === 0 || terms.anyPriceSellWh > 0n) {
    let demand = add(total(buy.volumes), publicScalar(party, terms.anyPriceBuyWh));
    if (band.feedIn > limits.feedIn) {
      const below = await lessThanPublic(
        party,
        limitValues(buy, false, party),
        BigInt(band.feedIn),
        limitBits,
      );
      demand = sub(demand, await dotSegments(party, buy.volumes, below, [buy.count]));
    }
    volume = await minimum(party, volume, demand, bits);
  }
  return volume;
}

/** min(a, b) of shared values: a + [b − a < 0]·(b − a). */
async function minimum(party: Party, a: Shared, b: Shared, bits: number): Promise<Shared> {
  const gap = sub(b, a);
  return add(a, await mul(party, await lessThanZero(party, gap, bits), gap));
}

/** max(a, b) of shared values: a − [a − b < 0]·(a − b). */
async function maximum(party: Party, a: Shared, b: Shared, bits: number): Promise<Shared> {
  const gap = sub(a, b);
  return sub(a, await mul(party, await lessThanZero(party, gap, bits), gap));
}

/** No order of a side at or beyond the margin. */
function nothing(count: number): { full: Shared; marginal: Shared } {
  return { full: zeros(count), marginal: zeros(count) };
}

/** A public value as a shared scalar, mod 2^64. */
function publicScalar(party: Party, value: bigint): Shared {
  return publicShared(party.id, new BigUint64Array([BigInt.asUintN(64, value)]));
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
  return { maxVolume: await maximum(party, demandAbove, supplyAt, bits) };
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
