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
  advance,
  bitPlane,
  differenceBits,
  PRICE_BITS,
  type SharedSide,
  type SideState,
  startState,
  stepHits,
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

  const crossing = await secretCrossing(
    party,
    buy,
    sell,
    startState(buy.volumes),
    sellStart,
    sellTotal,
    bits,
  );
  const volumeWh = (await open(party, crossing.maxVolume))[0] as bigint;
  if (volumeWh === 0n) return { volumeWh: 0n };
  const volume = publicShared(party.id, new BigUint64Array([volumeWh]));

  // Opened searches for bm (buys) and sm − 1 (sells) in the same steps; S(0) < V* decides sm = 0.
  let buyState = startState(buy.volumes);
  let sellState = sellStart;
  let buyMargin = 0;
  let sellBelow = 0;
  let supplyAtZeroShort = false;
  for (let t = PRICE_BITS - 1; t >= 0; t--) {
    const [buyHit, sellHit] = (await stepHits(party, [
      { state: buyState, bit: bitPlane(buy, t) },
      { state: sellState, bit: bitPlane(sell, t) },
    ])) as [Shared, Shared];
    const demandGap = sub(volumeAtOrAbove(buyState, buyHit), volume);
    const supplyGap = sub(sub(sellTotal, volumeAtOrAbove(sellState, sellHit)), volume);
    const checks = [demandGap, supplyGap];
    if (t === PRICE_BITS - 1) checks.push(sub(total(zeroPriced), volume));
    const short = await lessThanZeroOpened(party, concatScalars(checks), bits);
    const buyTaken = short[0] === 0;
    const sellTaken = short[1] === 1;
    if (t === PRICE_BITS - 1) supplyAtZeroShort = short[2] === 1;
    if (buyTaken) buyMargin |= 1 << t;
    if (sellTaken) sellBelow |= 1 << t;
    buyState = advance(buyState, buyHit, buyTaken);
    sellState = advance(sellState, sellHit, sellTaken);
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
  buyStart: SideState,
  sellStart: SideState,
  sellTotal: Shared,
  bits: number,
): Promise<{ maxVolume: Shared }> {
  let buyState = buyStart;
  let sellState = sellStart;
  for (let t = PRICE_BITS - 1; t >= 0; t--) {
    const [buyHit, sellHit] = (await stepHits(party, [
      { state: buyState, bit: bitPlane(buy, t) },
      { state: sellState, bit: bitPlane(sell, t) },
    ])) as [Shared, Shared];
    const demand = volumeAtOrAbove(buyState, buyHit);
    const supply = sub(sellTotal, volumeAtOrAbove(sellState, sellHit));
    const taken = oneMinus(party, await lessThanZero(party, sub(demand, supply), bits));
    [buyState, sellState] = (await advanceSecret(party, [buyState, sellState], [buyHit, sellHit], taken)) as [
      SideState,
      SideState,
    ];
  }
  // D(p1 + 1) = Σ above on the buy side; S(p1) = total − Σ (above + equal) on the sell side.
  const demandAbove = total(buyState.above);
  const supplyAt = sub(sellTotal, add(total(sellState.above), total(sellState.equal)));
  const supplyLarger = await lessThanZero(party, sub(demandAbove, supplyAt), bits);
  const gain = await mul(party, supplyLarger, sub(supplyAt, demandAbove));
  return { maxVolume: add(demandAbove, gain) };
}

/** Applies a shared outcome to several sides' states in one multiplication round. */
async function advanceSecret(
  party: Party,
  states: readonly SideState[],
  hits: readonly Shared[],
  taken: Shared,
): Promise<SideState[]> {
  const lefts: Shared[] = [];
  const rights: Shared[] = [];
  states.forEach((state, k) => {
    const hit = hits[k] as Shared;
    const n = hit.own.length;
    const d = broadcast(taken, n);
    lefts.push(d, d);
    rights.push(sub(add(hit, hit), state.equal), hit);
  });
  const products = await mulPairs(party, lefts, rights);
  return states.map((state, k) => {
    const hit = hits[k] as Shared;
    const [toEqual, toKeep] = [products[2 * k] as Shared, products[2 * k + 1] as Shared];
    return { equal: add(sub(state.equal, hit), toEqual), above: sub(add(state.above, hit), toKeep) };
  });
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
