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
import {
  add,
  addPublic,
  concat,
  dotPairs,
  dotSegments,
  mul,
  mulPairs,
  open,
  publicShared,
  type Shared,
  slice,
  sub,
} from "../../mpc/arithmetic.ts";
import { lessThanPublic, lessThanZero, lessThanZeroOpened, oneMinus } from "../../mpc/compare.ts";
import type { Party } from "../../mpc/party.ts";
import {
  bitPlane,
  differenceBits,
  digitProducts,
  limitValues,
  PRICE_BITS,
  PRICE_DIGITS,
  type SharedSide,
  type SideState,
  startState,
  total,
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
    [buy, sell],
    [buyPairs, sellPairs],
    // A buy that pays any price is above every candidate from the start.
    [{ equal: buy.volumes, above: scalar(terms.anyPriceBuyWh) }, summedAbove(sellStart)],
    sellTotal,
    bits,
  );
  const caps = await bandCaps(party, buy, sell, sellTotal, terms);
  const maxVolume = await cappedMaximum(party, crossing.demandAbove, crossing.supplyAt, caps, bits);
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
    const atLeast = [digitAtLeast(buy, buyPairs, digit), digitAtLeast(sell, sellPairs, digit)];
    const totals = await sumsAtLeast(party, [buyState, sellState], atLeast);
    const candidate = (side: number, k: number) => slice(totals, 3 * side + k, 3 * side + k + 1);
    const checks = [0, 1, 2].map((k) => sub(add(total(buyState.above), candidate(0, k)), buyGoal));
    for (const k of [0, 1, 2])
      checks.push(sub(sub(sellTotal, add(total(sellState.above), candidate(1, k))), volume));
    if (digit === PRICE_DIGITS - 1)
      checks.push(sub(add(total(zeroPriced), scalar(terms.anyPriceSellWh)), volume));
    const short = await lessThanZeroOpened(party, concatScalars(checks), bits);
    // D falls and S rises with the candidate: the digit is how many candidates pass.
    const buyDigit = [0, 1, 2].filter((k) => short[k] === 0).length;
    const sellDigit = [3, 4, 5].filter((k) => short[k] === 1).length;
    if (digit === PRICE_DIGITS - 1) supplyAtZeroShort = short[6] === 1;
    buyMargin |= buyDigit << (2 * digit);
    sellBelow |= sellDigit << (2 * digit);
    [buyState, sellState] = (await advanceOpened(party, [buyState, sellState], atLeast, [
      buyDigit,
      sellDigit,
    ])) as [SideState, SideState];
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
 * D(p1 + 1) would count at p1 = 65535 (then V* = S(65535)). Only the caps needed are returned, shared.
 */
async function bandCaps(
  party: Party,
  buy: SharedSide,
  sell: SharedSide,
  sellTotal: Shared,
  terms: AuctionTerms,
): Promise<Shared[]> {
  const { band, limits } = terms;
  const limitBits = PRICE_BITS + 2;
  const caps: Shared[] = [];
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
    caps.push(supply);
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
    caps.push(demand);
  }
  return caps;
}

/**
 * min(max(a, b), caps…) of shared scalars. With one cap c: [a < b], [c < a] and [c < b] in one
 * comparison; max(a, b) = a + [a < b](b − a), and c < max(a, b) exactly when c < a or c < b.
 */
async function cappedMaximum(
  party: Party,
  a: Shared,
  b: Shared,
  caps: readonly Shared[],
  bits: number,
): Promise<Shared> {
  const [cap, ...more] = caps;
  if (cap === undefined) return maximum(party, a, b, bits);
  const signs = await lessThanZero(party, concat([sub(a, b), sub(cap, a), sub(cap, b)]), bits);
  const [aSmaller, capBelowA, capBelowB] = [0, 1, 2].map((k) => slice(signs, k, k + 1)) as [
    Shared,
    Shared,
    Shared,
  ];
  const [gain, capBelowBoth] = (await mulPairs(party, [aSmaller, capBelowA], [sub(b, a), capBelowB])) as [
    Shared,
    Shared,
  ];
  const larger = add(a, gain);
  const capBelow = sub(add(capBelowA, capBelowB), capBelowBoth);
  let volume = add(larger, await mul(party, capBelow, sub(cap, larger)));
  for (const extra of more) volume = await minimum(party, volume, extra, bits);
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
 * The crossing search with secret outcomes, a base-4 digit per step. Per side the state is each
 * order's `equal` volume (limit digits so far = the secret prefix) and the sum of `above`. A step:
 * 1. H_k = Σ equal·[digit ≥ k] for k = 1, 2, 3 by dot products: one word per side and k, not per order;
 * 2. t_k = [D(c_k) ≥ S(c_k)] for the candidates c_1 < c_2 < c_3, shared (t_1 ≥ t_2 ≥ t_3);
 * 3. above' = above + H_{δ+1} (δ = Σ t_k, the secret digit) from scalar products, and each order's
 *    selector [digit = δ] from three products of a shared scalar with the order's digit indicators;
 * 4. equal' = equal · selector, one product per order.
 * The last step needs no order's state any more, only Σ equal', which the H_k give: steps 3–4 are
 * scalar products there. Four words per order and step instead of the six of multiplying the volumes
 * by the digit indicators before the comparison, for one round more per step.
 * Returns D(p1 + 1) and S(p1), shared scalars.
 */
async function secretCrossing(
  party: Party,
  sides: readonly [SharedSide, SharedSide],
  pairs: readonly [Shared, Shared],
  starts: readonly [SideState, SideState],
  sellTotal: Shared,
  bits: number,
): Promise<{ demandAbove: Shared; supplyAt: Shared }> {
  let states: SideState[] = [...starts];
  for (let digit = PRICE_DIGITS - 1; digit >= 0; digit--) {
    const atLeast = sides.map((side, s) => digitAtLeast(side, pairs[s] as Shared, digit));
    const totals = await sumsAtLeast(party, states, atLeast);
    const [buyAbove, sellAbove] = states.map((state) => state.above) as [Shared, Shared];
    const gaps = [0, 1, 2].map((k) =>
      sub(
        add(buyAbove, slice(totals, k, k + 1)),
        sub(sellTotal, add(sellAbove, slice(totals, 3 + k, 4 + k))),
      ),
    );
    const taken = oneMinus(party, await lessThanZero(party, concat(gaps), bits));
    states = await advanceSecret(party, states, atLeast, totals, taken, digit > 0);
  }
  // D(p1 + 1) = Σ above on the buy side; S(p1) = total − Σ (above + equal) on the sell side.
  const [buyState, sellState] = states as [SideState, SideState];
  return { demandAbove: buyState.above, supplyAt: sub(sellTotal, add(sellState.above, sellState.equal)) };
}

/** H_k = Σ equal·[digit ≥ k] for k = 1, 2, 3 of every side (3·side + k − 1), by dot products in one round. */
function sumsAtLeast(
  party: Party,
  states: readonly SideState[],
  atLeast: readonly [Shared, Shared, Shared][],
): Promise<Shared> {
  return dotPairs(
    party,
    states.flatMap((state) => [state.equal, state.equal, state.equal]),
    atLeast.flat(),
  );
}

/**
 * Moves each side past a digit whose value δ is public: equal' = equal·[digit = δ] and
 * above' = above + equal·[digit > δ], from equal·g_δ and equal·g_{δ+1} (g_k = [digit ≥ k], g_0 = 1,
 * g_4 = 0): at most two products per order, one when δ is 0 or 3, all sides in one round.
 */
async function advanceOpened(
  party: Party,
  states: readonly SideState[],
  atLeast: readonly [Shared, Shared, Shared][],
  digits: readonly number[],
): Promise<SideState[]> {
  const lefts: Shared[] = [];
  const rights: Shared[] = [];
  states.forEach((state, s) => {
    const delta = digits[s] as number;
    for (const k of [delta, delta + 1]) {
      if (k >= 1 && k <= 3) {
        lefts.push(state.equal);
        rights.push((atLeast[s] as Shared[])[k - 1] as Shared);
      }
    }
  });
  const products = await mulPairs(party, lefts, rights);
  let at = 0;
  return states.map((state, s) => {
    const delta = digits[s] as number;
    const atDigit = delta === 0 ? state.equal : (products[at++] as Shared);
    const beyond = delta === 3 ? zeros(state.equal.own.length) : (products[at++] as Shared);
    return { equal: sub(atDigit, beyond), above: add(state.above, beyond) };
  });
}

/** [digit ≥ 1], [digit ≥ 2], [digit ≥ 3] of every order's limit at base-4 digit j: hi ∨ lo, hi, hi·lo (local). */
function digitAtLeast(side: SharedSide, pairs: Shared, digit: number): [Shared, Shared, Shared] {
  const high = bitPlane(side, 2 * digit + 1);
  const both = slice(pairs, digit * side.count, (digit + 1) * side.count);
  return [sub(add(high, bitPlane(side, 2 * digit)), both), high, both];
}

/**
 * Applies the shared outcomes t_1 ≥ t_2 ≥ t_3 of one step (δ = Σ t_k). With g_k = [digit ≥ k]
 * (g_0 = 1, g_4 = 0) and H_k = Σ equal·g_k:
 * above' = above + H_1 + t_1(H_2 − H_1) + t_2(H_3 − H_2) − t_3·H_3;
 * selector = [digit = δ] = 1 − g_1 + t_1(2g_1 − g_2 − 1) + t_2(2g_2 − g_1 − g_3) + t_3(2g_3 − g_2),
 * and equal' = equal · selector when `perOrder`; otherwise only Σ equal' = Σ_k [δ = k](H_k − H_{k+1}),
 * again linear in the t_k, is kept (as `equal`, a shared scalar).
 */
async function advanceSecret(
  party: Party,
  states: readonly SideState[],
  atLeast: readonly [Shared, Shared, Shared][],
  totals: Shared,
  taken: Shared,
  perOrder: boolean,
): Promise<SideState[]> {
  const t = [0, 1, 2].map((k) => slice(taken, k, k + 1));
  const one = (n: number) => addPublic(party.id, zeros(n), 1n);
  const twice = (x: Shared) => add(x, x);
  const lefts: Shared[] = [];
  const rights: Shared[] = [];
  const sums = states.map((state, s) => {
    const [h1, h2, h3] = [0, 1, 2].map((k) => slice(totals, 3 * s + k, 3 * s + k + 1)) as [
      Shared,
      Shared,
      Shared,
    ];
    // above' terms, then (last step) Σ equal' terms: [δ = k] = t_k − t_{k+1} (t_0 = 1, t_4 = 0).
    lefts.push(...t);
    rights.push(sub(h2, h1), sub(h3, h2), sub(zeros(1), h3));
    if (!perOrder) {
      const exactly = [sub(total(state.equal), h1), sub(h1, h2), sub(h2, h3), h3];
      lefts.push(...t);
      rights.push(
        sub(exactly[1] as Shared, exactly[0] as Shared),
        sub(exactly[2] as Shared, exactly[1] as Shared),
        sub(exactly[3] as Shared, exactly[2] as Shared),
      );
      return { above: add(state.above, h1), equal: exactly[0] as Shared };
    }
    const [g1, g2, g3] = atLeast[s] as [Shared, Shared, Shared];
    const n = g1.own.length;
    lefts.push(...t.map((tk) => broadcast(tk, n)));
    rights.push(sub(sub(twice(g1), g2), one(n)), sub(sub(twice(g2), g1), g3), sub(twice(g3), g2));
    return { above: add(state.above, h1), equal: sub(one(n), g1) };
  });
  const products = await mulPairs(party, lefts, rights);
  let at = 0;
  const next = () => products[at++] as Shared;
  const advanced = sums.map((base) => {
    const above = add(add(add(base.above, next()), next()), next());
    const equal = add(add(add(base.equal, next()), next()), next());
    return { above, equal };
  });
  if (!perOrder) return advanced;
  // equal' = equal · selector, every side in one round.
  const equals = await mulPairs(
    party,
    states.map((state) => state.equal),
    advanced.map((state) => state.equal),
  );
  return advanced.map((state, s) => ({ above: state.above, equal: equals[s] as Shared }));
}

/** A state whose `above` is kept as its sum (a shared scalar). */
function summedAbove(state: SideState): SideState {
  return { equal: state.equal, above: total(state.above) };
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
