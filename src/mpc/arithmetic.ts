/**
 * Replicated arithmetic secret sharing over Z_2^64 (Araki et al. 2016): vectors in BigUint64Array,
 * local linear operations, one-round multiplication and dot products, opening, resharing.
 *
 * A value x is split as x = x0 + x1 + x2 (mod 2^64) and party i holds (x_i, x_{i+1}): any two
 * parties can reconstruct, any one party sees uniformly random words.
 * @module
 */
import { type Party, wordsOf } from "./party.ts";
import type { PartyId } from "./transport/types.ts";
import { addScaledInto, addWords, allocateWords, concatWords, scaleWords, subWords } from "./words.ts";

/** One party's replicated shares of a vector: components i (`own`) and i + 1 (`next`). */
export interface Shared {
  own: BigUint64Array;
  next: BigUint64Array;
}

/** Bytes of one ring element. */
export const WORD_BYTES = 8;

/** Number of values in a shared vector. */
export function lengthOf(x: Shared): number {
  return x.own.length;
}

/** Shares of public values: component 0 carries the value, the others are zero. */
export function publicShared(party: PartyId, values: BigUint64Array): Shared {
  const zero = new BigUint64Array(values.length);
  if (party === 0) return { own: values.slice(), next: zero };
  if (party === 2) return { own: zero, next: values.slice() };
  return { own: zero, next: new BigUint64Array(values.length) };
}

/** x + y. */
export function add(x: Shared, y: Shared): Shared {
  return { own: addWords(x.own, y.own), next: addWords(x.next, y.next) };
}

/** x − y. */
export function sub(x: Shared, y: Shared): Shared {
  return { own: subWords(x.own, y.own), next: subWords(x.next, y.next) };
}

/** x + c for a public c, one constant for all values or one per value; it lands in component 0. */
export function addPublic(party: PartyId, x: Shared, c: bigint | BigUint64Array): Shared {
  const own = x.own.slice();
  const next = x.next.slice();
  const target = party === 0 ? own : party === 2 ? next : null;
  if (target !== null) {
    if (typeof c === "bigint") for (let i = 0; i < target.length; i++) target[i] = (target[i] as bigint) + c;
    else for (let i = 0; i < target.length; i++) target[i] = (target[i] as bigint) + (c[i] as bigint);
  }
  return { own, next };
}

/** c · x for a public c, one constant for all values or one per value. */
export function mulPublic(x: Shared, c: bigint | BigUint64Array): Shared {
  return { own: scaleWords(x.own, c), next: scaleWords(x.next, c) };
}

/**
 * Σ_t c_t·x_t for shared vectors x_t of `length` values and public c_t: local, accumulated in one
 * vector instead of a product and a sum per term.
 */
export function linearCombination(
  length: number,
  terms: readonly Shared[],
  coefficients: readonly bigint[],
): Shared {
  const sum: Shared = { own: new BigUint64Array(length), next: new BigUint64Array(length) };
  terms.forEach((term, t) => {
    const c = BigInt.asUintN(64, coefficients[t] as bigint);
    addScaledInto(sum.own, term.own, c);
    addScaledInto(sum.next, term.next, c);
  });
  return sum;
}

/** The values at [start, end) of a shared vector, as views. */
export function slice(x: Shared, start: number, end: number): Shared {
  return { own: x.own.subarray(start, end), next: x.next.subarray(start, end) };
}

/** Several shared vectors end to end. */
export function concat(parts: readonly Shared[]): Shared {
  return { own: concatWords(parts.map((p) => p.own)), next: concatWords(parts.map((p) => p.next)) };
}

/**
 * x · y element-wise, in one round: party i computes the 3-out-of-3 share
 * z_i = x_i·y_i + x_i·y_{i+1} + x_{i+1}·y_i + α_i (α a PRSS sharing of zero) and sends it to party
 * i − 1, which then holds (z_{i−1}, z_i). One ring element per value and party.
 */
export async function mul(party: Party, x: Shared, y: Shared): Promise<Shared> {
  return (await mulPairs(party, [x], [y]))[0] as Shared;
}

/**
 * lefts[k] · rights[k] element-wise for several pairs in one round, one product vector per pair: what
 * {@link mul} of the concatenations gives, without copying the operands into them first.
 */
export async function mulPairs(
  party: Party,
  lefts: readonly Shared[],
  rights: readonly Shared[],
): Promise<Shared[]> {
  const parts = ranges(lefts.map(lengthOf));
  const z = zeroShare(party, parts.at(-1)?.[1] ?? 0);
  parts.forEach(([from], k) => {
    productsInto(z, from, lefts[k] as Shared, rights[k] as Shared);
  });
  const products = await reshareAdditive(party, z);
  return parts.map(([from, to]) => slice(products, from, to));
}

/**
 * Dot products of consecutive segments: result k is Σ x_i·y_i over the k-th segment. Costs one ring
 * element per segment, whatever the segment lengths: the 3-out-of-3 products are summed before resharing.
 */
export async function dotSegments(
  party: Party,
  x: Shared,
  y: Shared,
  segmentLengths: readonly number[],
): Promise<Shared> {
  const segments = ranges(segmentLengths);
  const covered = segments.at(-1)?.[1] ?? 0;
  if (covered !== lengthOf(x)) throw new RangeError(`segments cover ${covered} of ${lengthOf(x)} values`);
  return dotPairs(
    party,
    segments.map(([from, to]) => slice(x, from, to)),
    segments.map(([from, to]) => slice(y, from, to)),
  );
}

/**
 * Σ_i lefts[k][i]·rights[k][i] for several pairs in one round, one shared scalar per pair: dot
 * products without concatenating the operands. One ring element per pair, whatever the lengths.
 */
export async function dotPairs(
  party: Party,
  lefts: readonly Shared[],
  rights: readonly Shared[],
): Promise<Shared> {
  const z = zeroShare(party, lefts.length);
  lefts.forEach((x, k) => {
    dotInto(z, k, x, rights[k] as Shared);
  });
  return reshareAdditive(party, z);
}

/**
 * x·y for each pair, as `mulPairs` computes them, but riding on whatever round comes next instead of
 * a round of its own; `arrived` gets them when that round has run. The PRSS draws happen now, at the
 * same point of the protocol on every party.
 */
export function mulPairsRiding(
  party: Party,
  pairs: readonly (readonly [Shared, Shared])[],
  arrived: (products: Shared[]) => void,
): void {
  const total = pairs.reduce((sum, [x]) => sum + lengthOf(x), 0);
  const z = zeroShare(party, total);
  let at = 0;
  for (const [x, y] of pairs) {
    productsInto(z, at, x, y);
    at += lengthOf(x);
  }
  party.ride({
    output: { prev: [z] },
    input: { next: total * WORD_BYTES },
    arrived: (frames) => {
      const next = wordsOf(frames.next, 0, total);
      let from = 0;
      arrived(
        pairs.map(([x]) => {
          const to = from + lengthOf(x);
          const product = { own: z.subarray(from, to), next: next.subarray(from, to) };
          from = to;
          return product;
        }),
      );
    },
  });
}

/** [start, end) of consecutive parts of the given lengths. */
function ranges(lengths: readonly number[]): [number, number][] {
  let at = 0;
  return lengths.map((n) => {
    const range: [number, number] = [at, at + n];
    at += n;
    return range;
  });
}

// x_i·y_i + x_i·y_{i+1} + x_{i+1}·y_i with two multiplications: x_i·(y_i + y_{i+1}) + x_{i+1}·y_i.

/** z[at + i] += the 3-out-of-3 share of x[i]·y[i], for every i. */
function productsInto(z: BigUint64Array, at: number, x: Shared, y: Shared): void {
  const { own: x0, next: x1 } = x;
  const { own: y0, next: y1 } = y;
  for (let i = 0; i < x0.length; i++) {
    const b = y0[i] as bigint;
    z[at + i] = (z[at + i] as bigint) + (x0[i] as bigint) * (b + (y1[i] as bigint)) + (x1[i] as bigint) * b;
  }
}

/**
 * z[k] += the 3-out-of-3 share of Σ x[i]·y[i]. The sum lives in the word array, not in a local BigInt:
 * each store wraps it to 64 bits, so V8 keeps the loop native; a local accumulator would grow to
 * 140-bit heap BigInts.
 */
function dotInto(z: BigUint64Array, k: number, x: Shared, y: Shared): void {
  const { own: x0, next: x1 } = x;
  const { own: y0, next: y1 } = y;
  for (let i = 0; i < x0.length; i++) {
    const b = y0[i] as bigint;
    z[k] = (z[k] as bigint) + (x0[i] as bigint) * (b + (y1[i] as bigint)) + (x1[i] as bigint) * b;
  }
}

/** A fresh sharing of the same values, unlinkable to the old one; one round. */
export async function reshare(party: Party, x: Shared): Promise<Shared> {
  const z = zeroShare(party, lengthOf(x));
  for (let i = 0; i < z.length; i++) z[i] = (z[i] as bigint) + (x.own[i] as bigint);
  return reshareAdditive(party, z);
}

/** Opens the values to all three parties; one round, one ring element per value and party. */
export async function open(party: Party, x: Shared): Promise<BigUint64Array> {
  const n = lengthOf(x);
  const frames = await party.round({ prev: [x.next] }, { next: n * WORD_BYTES });
  const values = sumWords(x, wordsOf(frames.next));
  party.disclose(values);
  return values;
}

/**
 * Opens the values to one party only: the target lacks component target + 2, which its successor
 * sends. The others learn nothing and get null.
 */
export async function openTo(party: Party, x: Shared, target: PartyId): Promise<BigUint64Array | null> {
  const n = lengthOf(x);
  const frames = await party.round(
    party.prev === target ? { prev: [x.next] } : {},
    party.id === target ? { next: n * WORD_BYTES } : {},
  );
  if (party.id !== target) return null;
  const values = sumWords(x, wordsOf(frames.next));
  party.disclose(values);
  return values;
}

/**
 * Shares values known to one party (the owner), in one round and one ring element per value, sent by
 * the owner only: component owner + 1 comes from the PRSS key the owner shares with its successor,
 * component owner + 2 is zero, and component owner = value − component owner+1 goes to the
 * owner's predecessor. Every other party sees only PRSS output or a masked value.
 */
export async function shareFrom(
  party: Party,
  owner: PartyId,
  values: BigUint64Array | null,
  n: number,
): Promise<Shared> {
  const mask = party.prss.words(nextOf(owner), n);
  switch (relativeRole(party.id, owner)) {
    case 0: {
      if (values === null || mask === null) throw new Error("the owner must supply the values it shares");
      const masked = subWords(values, mask);
      await party.round({ prev: [masked] }, {});
      return { own: masked, next: mask };
    }
    case 1:
      await party.round({}, {});
      return { own: mask as BigUint64Array, next: new BigUint64Array(n) };
    case 2: {
      const frames = await party.round({}, { next: n * WORD_BYTES });
      return { own: new BigUint64Array(n), next: wordsOf(frames.next) };
    }
  }
}

/** A PRSS sharing of zero, 3-out-of-3: α_i = F(k_i) − F(k_{i+1}). */
export function zeroShare(party: Party, n: number): BigUint64Array {
  const { own, next } = party.prss.pair(n);
  for (let i = 0; i < n; i++) own[i] = (own[i] as bigint) - (next[i] as bigint);
  return own;
}

/** A uniformly random shared vector, without communication: component j is drawn from key j. */
export function randomShared(party: Party, n: number): Shared {
  return party.prss.pair(n);
}

/** Turns 3-out-of-3 shares into replicated ones: each party sends its share to its predecessor. */
export async function reshareAdditive(party: Party, z: BigUint64Array): Promise<Shared> {
  const frames = await party.round({ prev: [z] }, { next: z.length * WORD_BYTES });
  return { own: z, next: wordsOf(frames.next) };
}

/** Party i's place relative to a protocol's leading party: 0 for the leader, 1 for its successor, 2 for its predecessor. */
export function relativeRole(party: PartyId, leader: PartyId): 0 | 1 | 2 {
  return ((party - leader + 3) % 3) as 0 | 1 | 2;
}

function nextOf(party: PartyId): PartyId {
  return ((party + 1) % 3) as PartyId;
}

function sumWords(x: Shared, third: BigUint64Array): BigUint64Array {
  const out = allocateWords(third.length);
  for (let i = 0; i < out.length; i++)
    out[i] = (x.own[i] as bigint) + (x.next[i] as bigint) + (third[i] as bigint);
  return out;
}
