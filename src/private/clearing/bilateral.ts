/**
 * Stage 1 of spec/market.md (bilateral trades) on secret shares: `matchBilateral`'s volumes for the
 * public graph of registered partner pairs, from shared sides, offers and acceptances, with nothing
 * opened. Pairs that share neither seller nor buyer run side by side, one layer of them per comparison.
 *
 * Rounds, at volumes below 2^32: 7 for every pair's own cap, 7 per layer, 1 for the money, so
 * 8 + 7·layers in all. Each comparison is compare.ts's less-than-zero circuit (33 bits: split,
 * generate, five carry levels) with two changes: its last carry level and the opening of the masked
 * sign share one round, and the products that select the minimum are computed from the daBits
 * during the circuit's rounds, so nothing is left to multiply once the signs are known.
 * @module
 */
import {
  concat,
  lengthOf,
  mul,
  mulPairsRiding,
  type Shared,
  slice,
  sub,
  WORD_BYTES,
} from "../../mpc/arithmetic.ts";
import { and, andShare, type BitShared, bitsToWords, sliceBits, wordsFor, xor } from "../../mpc/binary.ts";
import { type CarryGroup, mergeCarryLevel } from "../../mpc/compare.ts";
import { prepareDaBits, splitToBits } from "../../mpc/convert.ts";
import { type Party, wordsOf } from "../../mpc/party.ts";
import { allocateWords, negWords, scaleWords, xorWords } from "../../mpc/words.ts";
import { MAX_ENERGY_WH, PRICE_GRID_MAX } from "../../units/index.ts";

/** A registered partnership: household indices (ascending id order), seller ≠ buyer. */
export interface BilateralPair {
  readonly seller: number;
  readonly buyer: number;
}

/**
 * The DSO registry's public pair graph for one slot. `pairs` are in the reference's processing
 * order: sellers ascending, each seller's partners in its priority order; each (seller, buyer) once.
 */
export interface PairGraph {
  readonly households: number;
  readonly pairs: readonly BilateralPair[];
}

/**
 * Shared inputs, values as unsigned ring elements. Per household (index order): `sellWh` is its
 * connection-capped volume if it sells this slot, else 0; `buyWh` likewise; both ≤ MAX_ENERGY_WH.
 * Per pair (graph order): `offerCapWh` (0: no offer to this partner), `price` (price units, 0 for a
 * donation), `acceptCapWh` (0: the buyer does not take from this seller), `maxPrice` (price units;
 * PRICE_GRID_MAX when the buyer takes whatever the seller asks). Caps ≤ MAX_ENERGY_WH, prices ≤
 * PRICE_GRID_MAX: the comparisons are exact only in these ranges, so the caller validates them.
 */
export interface BilateralInputs {
  readonly sellWh: Shared;
  readonly buyWh: Shared;
  readonly offerCapWh: Shared;
  readonly price: Shared;
  readonly acceptCapWh: Shared;
  readonly maxPrice: Shared;
}

/** The `maxPrice` of a buyer that takes whatever price the seller asks: the top of the grid. */
export const ANY_PRICE = PRICE_GRID_MAX;

/** Shared results: per pair its volume and the buyer's money; per household what goes on to the auction. */
export interface BilateralShares {
  readonly volumeWh: Shared;
  /** volumeWh · price, money units (1e-7 EUR = Wh × price unit); below 2^48. */
  readonly moneyBuyer: Shared;
  readonly sellLeftWh: Shared;
  readonly buyLeftWh: Shared;
}

/** Differences of two values in 0..MAX_ENERGY_WH lie in [−2^32, 2^32): 33 signed bits. */
const DIFFERENCE_BITS = Math.log2(MAX_ENERGY_WH + 1) + 1;

/**
 * The pairs of each layer, ascending: a pair goes one layer after the latest earlier pair with the same
 * seller (they share the seller's surplus) or the same buyer (its need). A household's surplus and need
 * are separate states, so (A → B) and (C → A) do not conflict. Pairs of one layer touch distinct
 * states, so running them together computes what the sequence computes, in as few layers as the
 * graph's longest chain of conflicts allows.
 * @throws RangeError when the graph is malformed (see {@link PairGraph}).
 */
export function bilateralLayers(graph: PairGraph): number[][] {
  checkGraph(graph);
  // Layers already holding a pair of each seller's surplus, of each buyer's need.
  const sellerDepth = new Int32Array(graph.households);
  const buyerDepth = new Int32Array(graph.households);
  const layers: number[][] = [];
  graph.pairs.forEach(({ seller, buyer }, k) => {
    const layer = Math.max(sellerDepth[seller] as number, buyerDepth[buyer] as number);
    sellerDepth[seller] = layer + 1;
    buyerDepth[buyer] = layer + 1;
    if (layer === layers.length) layers.push([]);
    (layers[layer] as number[]).push(k);
  });
  return layers;
}

/**
 * Stage 1 on shares, equal to `matchBilateral` on the corresponding plaintext: in graph order, pair k
 * trades [price ≤ maxPrice] · min(offerCap, acceptCap, seller's surplus left, buyer's need left), and
 * both are reduced by it. Every party calls it with the same graph; nothing is opened, so the nodes
 * learn only the graph and the inputs' sizes. Rounds: 8 + 7 · {@link bilateralLayers}(graph).length
 * (none without pairs).
 * @throws RangeError when the graph is malformed or an input's length does not fit it.
 */
export async function matchBilateralPrivately(
  party: Party,
  graph: PairGraph,
  inputs: BilateralInputs,
): Promise<BilateralShares> {
  const layers = bilateralLayers(graph);
  checkLengths(graph, inputs);
  const count = graph.pairs.length;
  const sellLeftWh = copyOf(inputs.sellWh);
  const buyLeftWh = copyOf(inputs.buyWh);
  const volumeWh: Shared = { own: new BigUint64Array(count), next: new BigUint64Array(count) };
  if (count === 0) return { volumeWh, moneyBuyer: volumeWh, sellLeftWh, buyLeftWh };

  // What a pair may trade whatever came before it: all pairs at once, ahead of the sequential part.
  const capWh = await pairCapsWh(party, inputs);
  for (const layer of layers) {
    const pairs = Int32Array.from(layer);
    const sellers = Int32Array.from(layer, (k) => (graph.pairs[k] as BilateralPair).seller);
    const buyers = Int32Array.from(layer, (k) => (graph.pairs[k] as BilateralPair).buyer);
    const tradedWh = await minimumOfThree(
      party,
      gather(capWh, pairs),
      gather(sellLeftWh, sellers),
      gather(buyLeftWh, buyers),
    );
    // A layer's sellers are distinct, and so are its buyers: plain writes, no collisions.
    scatter(volumeWh, pairs, tradedWh);
    scatterSubtract(sellLeftWh, sellers, tradedWh);
    scatterSubtract(buyLeftWh, buyers, tradedWh);
  }
  const moneyBuyer = await mul(party, volumeWh, inputs.price);
  return { volumeWh, moneyBuyer, sellLeftWh, buyLeftWh };
}

/**
 * [price ≤ maxPrice] · min(offerCap, acceptCap) per pair, in one comparison's rounds. With
 * u = [maxPrice − price < 0], w = [acceptCap − offerCap < 0] and δ = acceptCap − offerCap, the cap is
 * (1 − u)(o + wδ); after the masked signs, u = e_u + σ_u·r_u (σ = 1 − 2e), and likewise w, so
 * cap = (1 − e_u)·M − σ_u·(r_u·o + e_w·r_u·δ + σ_w·r_u·r_w·δ) with M = o + e_w·δ + σ_w·r_w·δ.
 */
async function pairCapsWh(party: Party, inputs: BilateralInputs): Promise<Shared> {
  const n = lengthOf(inputs.price);
  const offer = inputs.offerCapWh;
  const delta = sub(inputs.acceptCapWh, offer);
  const { signs, products } = await maskedSigns(
    party,
    concat([sub(inputs.maxPrice, inputs.price), delta]),
    (r) => {
      const [ru, rw] = [slice(r, 0, n), slice(r, n, 2 * n)];
      return rideTwoLevels(
        party,
        [
          [ru, offer],
          [rw, delta],
          [ru, delta],
        ],
        ([, rwDelta]) => [[ru, rwDelta as Shared]],
      );
    },
  );
  const [ruOffer, rwDelta, ruDelta, ruRwDelta] = products as [Shared, Shared, Shared, Shared];
  const eu = signs.subarray(0, n);
  const ew = signs.subarray(n, 2 * n);
  const [su, sw] = [sigma(eu), sigma(ew)];
  const keep = affine(eu, 1n, -1n);
  const minimum = combine(offer, [
    [ew, delta],
    [sw, rwDelta],
  ]);
  return combine(scaled(minimum, keep), [
    [negWords(su), ruOffer],
    [negWords(scaleWords(su, ew)), ruDelta],
    [negWords(scaleWords(su, sw)), ruRwDelta],
  ]);
}

/**
 * min(x, y, z) per value, in one comparison's rounds. With a = [y < x], b = [z < x], c = [z < y],
 * d1 = y − x and d2 = z − x, the minimum is x + a(1 − c)·d1 + bc·d2 (y wins when below x and not above
 * z; z wins when below both). After the masked signs each product of signs is linear in products of
 * daBits, computed from d1 and d2 while the comparison runs: r_a·d1, r_c·d1, r_a·r_c·d1 and
 * r_b·d2, r_c·d2, r_b·r_c·d2.
 */
async function minimumOfThree(party: Party, x: Shared, y: Shared, z: Shared): Promise<Shared> {
  const n = lengthOf(x);
  const d1 = sub(y, x);
  const d2 = sub(z, x);
  const { signs, products } = await maskedSigns(party, concat([d1, d2, sub(z, y)]), (r) => {
    const [ra, rb, rc] = [slice(r, 0, n), slice(r, n, 2 * n), slice(r, 2 * n, 3 * n)];
    return rideTwoLevels(
      party,
      [
        [ra, d1],
        [rc, d1],
        [rb, d2],
        [rc, d2],
      ],
      ([, rcD1, , rcD2]) => [
        [ra, rcD1 as Shared],
        [rb, rcD2 as Shared],
      ],
    );
  });
  const [raD1, rcD1, rbD2, rcD2, raRcD1, rbRcD2] = products as [
    Shared,
    Shared,
    Shared,
    Shared,
    Shared,
    Shared,
  ];
  const [ea, eb, ec] = [signs.subarray(0, n), signs.subarray(n, 2 * n), signs.subarray(2 * n, 3 * n)];
  const [sa, sb, sc] = [sigma(ea), sigma(eb), sigma(ec)];
  const notC = affine(ec, 1n, -1n);
  // a(1 − c)·d1 = (e_a + σ_a r_a)((1 − e_c) − σ_c r_c)·d1;  bc·d2 = (e_b + σ_b r_b)(e_c + σ_c r_c)·d2.
  return combine(x, [
    [scaleWords(ea, notC), d1],
    [negWords(scaleWords(ea, sc)), rcD1],
    [scaleWords(sa, notC), raD1],
    [negWords(scaleWords(sa, sc)), raRcD1],
    [scaleWords(eb, ec), d2],
    [scaleWords(eb, sc), rcD2],
    [scaleWords(sb, ec), rbD2],
    [scaleWords(sb, sc), rbRcD2],
  ]);
}

/**
 * The signs of x (values in [−2^32, 2^32)) masked by daBits r: e = sign ⊕ r is opened (uniformly
 * random, so it tells nothing and is not a disclosure), and [sign] = e + (1 − 2e)·[r] is then linear in
 * [r] with public coefficients. `whileComparing` gets [r] once the daBits are there (after round 2)
 * and may ride products on the four carry rounds that follow; what it returns comes back with the
 * signs, filled in by then. Seven rounds.
 */
async function maskedSigns<T>(
  party: Party,
  x: Shared,
  whileComparing: (r: Shared) => T,
): Promise<{ signs: BigUint64Array; products: T }> {
  const n = lengthOf(x);
  const words = wordsFor(n);
  const m = DIFFERENCE_BITS - 1;
  const plane = (s: BitShared, j: number) => sliceBits(s, j * words, (j + 1) * words);
  // The same circuit as compare.ts's lessThanZero, whose binary sign it does not export.
  const daBits = prepareDaBits(party, n);
  const { y, c } = await splitToBits(party, x, DIFFERENCE_BITS, false);
  const generate = await and(party, sliceBits(y, 0, m * words), sliceBits(c, 0, m * words));
  const propagate = xor(sliceBits(y, 0, m * words), sliceBits(c, 0, m * words));
  const random = await daBits;
  const products = whileComparing(random.values);
  let groups: CarryGroup[] = Array.from({ length: m }, (_, j) => ({
    g: plane(generate, j),
    p: j === 0 ? null : plane(propagate, j),
  }));
  while (groups.length > 2) groups = await mergeCarryLevel(party, groups, words);
  // Last level and opening at once: e = y_m ⊕ c_m ⊕ G_hi ⊕ (P_hi ∧ G_lo) ⊕ r. Each party's
  // 3-out-of-3 share of the AND (masked by a PRSS zero sharing, as in `and`) plus its own component
  // of the linear rest goes to both neighbours, instead of a round for the AND and one to open. Each
  // share carries PRSS words of a key its receiver lacks, so the three together tell e and no more.
  const [low, high] = groups as [CarryGroup, CarryGroup];
  const linear = xor(xor(plane(y, m), plane(c, m)), xor(high.g, random.bits));
  const share = andShare(party, high.p as BitShared, low.g);
  for (let i = 0; i < words; i++) share[i] = (share[i] as bigint) ^ (linear.own[i] as bigint);
  const bytes = words * WORD_BYTES;
  const frames = await party.round({ prev: [share], next: [share] }, { prev: bytes, next: bytes });
  const opened = xorWords(xorWords(share, wordsOf(frames.prev, 0, words)), wordsOf(frames.next, 0, words));
  // Riders still waiting (none at 33 bits) must arrive before their products are used.
  await party.flush();
  return { signs: bitsToWords(opened, n), products };
}

/**
 * Products of `first`'s pairs riding on the next round, then of the pairs `second` builds from them on
 * the round after: the products arrive in that order in the returned array, filled in as the rounds run.
 */
function rideTwoLevels(
  party: Party,
  first: readonly (readonly [Shared, Shared])[],
  second: (products: readonly Shared[]) => readonly (readonly [Shared, Shared])[],
): Shared[] {
  const out: Shared[] = [];
  mulPairsRiding(party, first, (products) => {
    out.push(...products);
    mulPairsRiding(party, second(products), (more) => out.push(...more));
  });
  return out;
}

/** base + Σ_t coefficients_t ⊙ values_t, with public per-value coefficients: local. */
function combine(base: Shared, terms: readonly (readonly [BigUint64Array, Shared])[]): Shared {
  const own = base.own.slice();
  const next = base.next.slice();
  for (const [coefficients, values] of terms) {
    addProductsInto(own, coefficients, values.own);
    addProductsInto(next, coefficients, values.next);
  }
  return { own, next };
}

/** c ⊙ x for public per-value coefficients. */
function scaled(x: Shared, coefficients: BigUint64Array): Shared {
  return { own: scaleWords(x.own, coefficients), next: scaleWords(x.next, coefficients) };
}

/** out[i] += c[i]·a[i]. */
function addProductsInto(out: BigUint64Array, c: BigUint64Array, a: BigUint64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as bigint) + (c[i] as bigint) * (a[i] as bigint);
}

/** a + b·e per value, for public 0/1 words e. */
function affine(e: BigUint64Array, a: bigint, b: bigint): BigUint64Array {
  const out = allocateWords(e.length);
  for (let i = 0; i < out.length; i++) out[i] = a + b * (e[i] as bigint);
  return out;
}

/** σ = 1 − 2e: the sign's coefficient on [r] once e is open (±1). */
function sigma(e: BigUint64Array): BigUint64Array {
  return affine(e, 1n, -2n);
}

/** The values at the given positions. */
function gather(x: Shared, at: Int32Array): Shared {
  const own = allocateWords(at.length);
  const next = allocateWords(at.length);
  for (let i = 0; i < at.length; i++) {
    const j = at[i] as number;
    own[i] = x.own[j] as bigint;
    next[i] = x.next[j] as bigint;
  }
  return { own, next };
}

/** x[at[i]] = v[i]. */
function scatter(x: Shared, at: Int32Array, v: Shared): void {
  for (let i = 0; i < at.length; i++) {
    const j = at[i] as number;
    x.own[j] = v.own[i] as bigint;
    x.next[j] = v.next[i] as bigint;
  }
}

/** x[at[i]] −= v[i]; the positions are distinct. */
function scatterSubtract(x: Shared, at: Int32Array, v: Shared): void {
  for (let i = 0; i < at.length; i++) {
    const j = at[i] as number;
    x.own[j] = (x.own[j] as bigint) - (v.own[i] as bigint);
    x.next[j] = (x.next[j] as bigint) - (v.next[i] as bigint);
  }
}

function copyOf(x: Shared): Shared {
  return { own: x.own.slice(), next: x.next.slice() };
}

function checkGraph(graph: PairGraph): void {
  const { households, pairs } = graph;
  if (!Number.isInteger(households) || households < 0) {
    throw new RangeError(`households must be a non-negative integer, got ${households}`);
  }
  const seen = new Set<number>();
  let lastSeller = 0;
  pairs.forEach(({ seller, buyer }, k) => {
    for (const [role, h] of [
      ["seller", seller],
      ["buyer", buyer],
    ] as const) {
      if (!Number.isInteger(h) || h < 0 || h >= households) {
        throw new RangeError(`pair ${k}: ${role} ${h} is not a household index in 0..${households - 1}`);
      }
    }
    if (seller === buyer) throw new RangeError(`pair ${k}: household ${seller} cannot trade with itself`);
    if (seller < lastSeller) {
      throw new RangeError(
        `pair ${k}: seller ${seller} comes after seller ${lastSeller}; sellers go in ascending order`,
      );
    }
    const key = seller * households + buyer;
    if (seen.has(key)) throw new RangeError(`pair ${k}: (${seller}, ${buyer}) is listed twice`);
    seen.add(key);
    lastSeller = seller;
  });
}

function checkLengths(graph: PairGraph, inputs: BilateralInputs): void {
  const expected = {
    sellWh: graph.households,
    buyWh: graph.households,
    offerCapWh: graph.pairs.length,
    price: graph.pairs.length,
    acceptCapWh: graph.pairs.length,
    maxPrice: graph.pairs.length,
  } as const;
  for (const [name, length] of Object.entries(expected)) {
    const got = lengthOf(inputs[name as keyof BilateralInputs]);
    if (got !== length) throw new RangeError(`${name} has ${got} values where the graph needs ${length}`);
  }
}
