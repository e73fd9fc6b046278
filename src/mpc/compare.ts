/**
 * Comparisons on shared ring elements, results as shared 0/1 ring elements: less-than-zero by local
 * share conversion and a log-depth carry circuit, equality by a log-depth AND tree, and their
 * variants against a second shared value or a public one.
 *
 * Costs for a k-bit comparison (m = k − 1), per party on average:
 * | protocol | rounds | bytes |
 * |---|---|---|
 * | less-than-zero | 3 + ⌈log₂ m⌉ | (k/3 + m + ≈2m + 1) / 8 + 8 |
 * | equality | 2 + ⌈log₂ k⌉ | (k/3 + k + 1) / 8 + 8 |
 * The 8 bytes are the daBit for bit injection, prepared in the same rounds as the circuit.
 * @module
 */
import { addPublic, type Shared, sub } from "./arithmetic.ts";
import {
  and,
  type BitShared,
  concatBits,
  halvesOf,
  not,
  openBits,
  sliceBits,
  wordsFor,
  xor,
} from "./binary.ts";
import { injectBits, prepareDaBits, splitToBits } from "./convert.ts";
import type { Party } from "./party.ts";
import { negWords } from "./words.ts";

/** Largest bit length a comparison takes: a whole ring element. */
export const MAX_COMPARE_BITS = 64;

/**
 * [x < 0] for values that lie in [−2^(bits−1), 2^(bits−1)) as two's-complement ring elements.
 * x = y + c after the split; the sign is bit bits−1 of y + c, i.e. y_{k−1} ⊕ c_{k−1} ⊕ the carry
 * into that bit, found by a generate/propagate tree over the m = bits − 1 bits below it.
 */
export async function lessThanZero(party: Party, x: Shared, bits: number): Promise<Shared> {
  checkBits(bits, 2);
  const daBits = prepareDaBits(party, x.own.length);
  return injectBits(party, await signBits(party, x, bits), daBits);
}

/**
 * [x < 0] opened to all three parties, as 0/1 per value: for results that are public anyway (a
 * search step whose outcome the output reveals). No daBits: the sign is opened in binary, so it
 * costs the same rounds as {@link lessThanZero} and 8 bytes less per value.
 */
export async function lessThanZeroOpened(party: Party, x: Shared, bits: number): Promise<Uint8Array> {
  checkBits(bits, 2);
  const opened = await openBits(party, await signBits(party, x, bits));
  const halves = halvesOf(opened);
  const signs = Uint8Array.from(
    { length: x.own.length },
    (_, v) => ((halves[v >>> 5] as number) >>> (v & 31)) & 1,
  );
  party.disclose(BigUint64Array.from(signs, (bit) => BigInt(bit)));
  return signs;
}

/** The binary-shared sign plane of x (bit bits − 1 of its two's complement). */
async function signBits(party: Party, x: Shared, bits: number): Promise<BitShared> {
  const words = wordsFor(x.own.length);
  const { y, c } = await splitToBits(party, x, bits, false);
  const m = bits - 1;
  const plane = (s: BitShared, j: number) => sliceBits(s, j * words, (j + 1) * words);
  const generate = await and(party, sliceBits(y, 0, m * words), sliceBits(c, 0, m * words));
  const propagate = xor(sliceBits(y, 0, m * words), sliceBits(c, 0, m * words));
  const carry = await carryOut(
    party,
    Array.from({ length: m }, (_, j) => ({ g: plane(generate, j), p: j === 0 ? null : plane(propagate, j) })),
    words,
  );
  return xor(xor(plane(y, m), plane(c, m)), carry);
}

/** One group of bit positions in the carry tree: does it generate a carry, does it propagate one. */
export interface CarryGroup {
  g: BitShared;
  /** Null for the lowest group: no carry comes into it, so its propagate bit is never needed. */
  p: BitShared | null;
}

/** The carry out of the top group, merging neighbours level by level: one round per level. */
async function carryOut(party: Party, leaves: CarryGroup[], words: number): Promise<BitShared> {
  let groups = leaves;
  while (groups.length > 1) groups = await mergeCarryLevel(party, groups, words);
  return (groups[0] as CarryGroup).g;
}

/** One level of the carry tree: neighbouring groups merge as (G_hi ⊕ P_hi ∧ G_lo, P_hi ∧ P_lo), one AND round. */
export async function mergeCarryLevel(
  party: Party,
  groups: readonly CarryGroup[],
  words: number,
): Promise<CarryGroup[]> {
  const left: BitShared[] = [];
  const right: BitShared[] = [];
  const pairs = Math.floor(groups.length / 2);
  for (let k = 0; k < pairs; k++) {
    const low = groups[2 * k] as CarryGroup;
    const high = groups[2 * k + 1] as CarryGroup;
    left.push(high.p as BitShared);
    right.push(low.g);
    if (low.p !== null) {
      left.push(high.p as BitShared);
      right.push(low.p);
    }
  }
  const products = await and(party, concatBits(left), concatBits(right));
  const merged: CarryGroup[] = [];
  let at = 0;
  const take = () => sliceBits(products, at * words, ++at * words);
  for (let k = 0; k < pairs; k++) {
    const low = groups[2 * k] as CarryGroup;
    const high = groups[2 * k + 1] as CarryGroup;
    merged.push({ g: xor(high.g, take()), p: low.p === null ? null : take() });
  }
  if (groups.length % 2 === 1) merged.push(groups[groups.length - 1] as CarryGroup);
  return merged;
}

/** [x = 0] for values whose low `bits` bits decide it (x ≡ 0 mod 2^bits). */
export async function equalsZero(party: Party, x: Shared, bits: number): Promise<Shared> {
  checkBits(bits, 1);
  const n = x.own.length;
  const words = wordsFor(n);
  const daBits = prepareDaBits(party, n);
  const { y, c } = await splitToBits(party, x, bits, true);
  // x = y − c is zero iff every bit of y ⊕ c is zero: AND the negated planes, halving each round.
  const same = not(party.id, xor(y, c));
  let planes = Array.from({ length: bits }, (_, j) => sliceBits(same, j * words, (j + 1) * words));
  while (planes.length > 1) {
    const pairs = Math.floor(planes.length / 2);
    const products = await and(
      party,
      concatBits(planes.filter((_, j) => j < 2 * pairs && j % 2 === 0)),
      concatBits(planes.filter((_, j) => j < 2 * pairs && j % 2 === 1)),
    );
    const merged = Array.from({ length: pairs }, (_, k) => sliceBits(products, k * words, (k + 1) * words));
    if (planes.length % 2 === 1) merged.push(planes[planes.length - 1] as BitShared);
    planes = merged;
  }
  return injectBits(party, planes[0] as BitShared, daBits);
}

/** [x < y] for x − y within `bits` signed bits. */
export function lessThan(party: Party, x: Shared, y: Shared, bits: number): Promise<Shared> {
  return lessThanZero(party, sub(x, y), bits);
}

/** [x < c] for a public c (one for all values or one per value), x − c within `bits` signed bits. */
export function lessThanPublic(
  party: Party,
  x: Shared,
  c: bigint | BigUint64Array,
  bits: number,
): Promise<Shared> {
  return lessThanZero(party, addPublic(party.id, x, negate(c)), bits);
}

/** [x = y], deciding on the low `bits` bits of x − y. */
export function equals(party: Party, x: Shared, y: Shared, bits: number): Promise<Shared> {
  return equalsZero(party, sub(x, y), bits);
}

/** [x = c] for a public c, deciding on the low `bits` bits of x − c. */
export function equalsPublic(
  party: Party,
  x: Shared,
  c: bigint | BigUint64Array,
  bits: number,
): Promise<Shared> {
  return equalsZero(party, addPublic(party.id, x, negate(c)), bits);
}

/** 1 − b for shared bits. */
export function oneMinus(party: Party, b: Shared): Shared {
  const negated: Shared = { own: negWords(b.own), next: negWords(b.next) };
  return addPublic(party.id, negated, 1n);
}

function negate(c: bigint | BigUint64Array): bigint | BigUint64Array {
  return typeof c === "bigint" ? BigInt.asUintN(64, -c) : negWords(c);
}

function checkBits(bits: number, least: number): void {
  if (!Number.isInteger(bits) || bits < least || bits > MAX_COMPARE_BITS) {
    throw new RangeError(`bit length must be an integer in [${least}, ${MAX_COMPARE_BITS}], got ${bits}`);
  }
}
