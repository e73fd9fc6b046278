/**
 * Replicated binary secret sharing, bitsliced: a shared bit vector holds 64 values' bits per 64-bit
 * word, so one AND of words is 64 gates and a bit costs one bit on the wire, not one word.
 *
 * A k-bit quantity of n values is k planes of ⌈n/64⌉ words, plane j holding bit j of every value.
 * @module
 */
import { type Party, wordsOf } from "./party.ts";
import type { PartyId } from "./transport/types.ts";
import { allocateWords, notWords, xorWords } from "./words.ts";

/** One party's replicated XOR shares of bit words: components i (`own`) and i + 1 (`next`). */
export interface BitShared {
  own: BigUint64Array;
  next: BigUint64Array;
}

/** Words per plane for n values. */
export function wordsFor(values: number): number {
  return Math.ceil(values / 64);
}

/** x ⊕ y. */
export function xor(x: BitShared, y: BitShared): BitShared {
  return { own: xorWords(x.own, y.own), next: xorWords(x.next, y.next) };
}

/** ¬x: flips component 0 only. */
export function not(party: PartyId, x: BitShared): BitShared {
  if (party === 0) return { own: notWords(x.own), next: x.next };
  if (party === 2) return { own: x.own, next: notWords(x.next) };
  return x;
}

/** Words [start, end) of a shared bit vector, as views. */
export function sliceBits(x: BitShared, start: number, end: number): BitShared {
  return { own: x.own.subarray(start, end), next: x.next.subarray(start, end) };
}

/** Several shared bit vectors end to end. */
export function concatBits(parts: readonly BitShared[]): BitShared {
  const length = parts.reduce((sum, p) => sum + p.own.length, 0);
  const own = allocateWords(length);
  const next = allocateWords(length);
  let at = 0;
  for (const part of parts) {
    own.set(part.own, at);
    next.set(part.next, at);
    at += part.own.length;
  }
  return { own, next };
}

/**
 * This party's 3-out-of-3 share of x ∧ y word-wise: z_i = x_i∧y_i ⊕ x_i∧y_{i+1} ⊕ x_{i+1}∧y_i ⊕ α_i
 * with α a PRSS sharing of zero; what {@link and} sends, for protocols that fold the round into
 * one of their own.
 */
export function andShare(party: Party, x: BitShared, y: BitShared): BigUint64Array {
  const n = x.own.length;
  const { own: alpha, next: beta } = party.prss.pair(n);
  const z = allocateWords(n);
  const { own: x0, next: x1 } = x;
  const { own: y0, next: y1 } = y;
  for (let i = 0; i < n; i++) {
    const a = x0[i] as bigint;
    z[i] =
      (a & ((y0[i] as bigint) ^ (y1[i] as bigint))) ^
      ((x1[i] as bigint) & (y0[i] as bigint)) ^
      (alpha[i] as bigint) ^
      (beta[i] as bigint);
  }
  return z;
}

/** x ∧ y word-wise, in one round: {@link andShare}, sent to party i − 1. One bit per gate and party. */
export async function and(party: Party, x: BitShared, y: BitShared): Promise<BitShared> {
  const z = andShare(party, x, y);
  const frames = await party.round({ prev: [z] }, { next: x.own.length * 8 });
  return { own: z, next: wordsOf(frames.next) };
}

/** Opens shared bit words to all parties; one round. */
export async function openBits(party: Party, x: BitShared): Promise<BigUint64Array> {
  const frames = await party.round({ prev: [x.next] }, { next: x.own.length * 8 });
  const third = wordsOf(frames.next);
  return xorWords(xorWords(third, x.own), x.next);
}

/** The bits of a bit vector as ring elements 0 or 1, one per value. */
export function bitsToWords(words: BigUint64Array, n: number): BigUint64Array {
  const out = allocateWords(n);
  bitsToWordsInto(out, words, 0, n, 0);
  return out;
}

/** Bits [start, end) of a bit vector as ring elements 0 or 1, written to out[start − base, end − base). */
export function bitsToWordsInto(
  out: BigUint64Array,
  words: BigUint64Array,
  start: number,
  end: number,
  base: number,
): void {
  const halves = halvesOf(words);
  // BigInt(bit) beats a branch on random bits: no mispredictions.
  for (let v = start; v < end; v++) out[v - base] = BigInt(((halves[v >>> 5] as number) >>> (v & 31)) & 1);
}

/** A 64-bit word array seen as its little-endian 32-bit halves: word w is halves 2w (low) and 2w + 1. */
export function halvesOf(words: BigUint64Array): Uint32Array {
  return new Uint32Array(words.buffer, words.byteOffset, words.length * 2);
}

/**
 * Bit planes 0 … bits − 1 of n 64-bit values: plane j at words [j·W, (j+1)·W), W = ⌈n/64⌉, bit v of
 * plane j is bit j of value v. Each block of 64 values is four 32 × 32 bit-matrix transposes of
 * the values' 32-bit halves, on V8's fast int32 path.
 */
export function bitslice(values: BigUint64Array, bits: number): BigUint64Array {
  const words = wordsFor(values.length);
  const planes = new BigUint64Array(bits * words);
  const planeHalves = halvesOf(planes);
  const full = Math.floor(values.length / 64);
  // Whole blocks are read in place; only a ragged last block is copied, zero-padded.
  const tail = new BigUint64Array(64);
  tail.set(values.subarray(full * 64));
  const rows = new Uint32Array(32);
  for (let w = 0; w < words; w++) {
    const input = w < full ? halvesOf(values) : halvesOf(tail);
    const block = w < full ? w : 0;
    // Quarter q: values 32·(q & 1) … +31 of the block, their low (q < 2) or high (q ≥ 2) halves.
    for (let q = 0; q < 4; q++) {
      const firstBit = q < 2 ? 0 : 32;
      if (firstBit >= bits) break;
      const base = 2 * (block * 64 + 32 * (q & 1)) + (q < 2 ? 0 : 1);
      for (let r = 0; r < 32; r++) rows[r] = input[base + 2 * r] as number;
      transpose32(rows);
      for (let j = firstBit; j < Math.min(bits, firstBit + 32); j++) {
        planeHalves[2 * (j * words + w) + (q & 1)] = rows[j - firstBit] as number;
      }
    }
  }
  return planes;
}

/**
 * In-place transpose of a 32 × 32 bit matrix whose row r is rows[r] and column c is bit c
 * (Hacker's Delight §7-3, least-significant-bit columns): five rounds of swapping blocks.
 */
export function transpose32(rows: Uint32Array): void {
  let mask = 0x0000ffff;
  for (let width = 16; width > 0; width >>= 1, mask ^= mask << width) {
    for (let k = 0; k < 32; k = ((k | width) + 1) & ~width) {
      const low = rows[k] as number;
      const high = rows[k | width] as number;
      const swap = ((low >>> width) ^ high) & mask;
      rows[k] = low ^ (swap << width);
      rows[k | width] = high ^ swap;
    }
  }
}
