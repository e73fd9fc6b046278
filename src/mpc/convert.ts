/**
 * Conversions between the arithmetic and the binary sharing: local share conversion of arithmetic
 * values to bit planes, random bits shared in both rings (daBits), and bit injection.
 *
 * Protocols with a leading party run on three chunks of the vector, party s leading chunk s, so
 * that every party sends the same amount and every frame goes to the predecessor.
 * @module
 */
import {
  concat,
  type PendingShare,
  relativeRole,
  type Shared,
  startShareFrom,
  WORD_BYTES,
} from "./arithmetic.ts";
import { type BitShared, bitslice, bitsToWords, bitsToWordsInto, openBits, wordsFor, xor } from "./binary.ts";
import { type Party, wordsOf } from "./party.ts";
import { PARTIES, type PartyId } from "./transport/types.ts";
import { addRange, mulAddInto, negateRange, xorInto, xorWords } from "./words.ts";

/** A third of a vector, whole words of 64 values, led by one party. */
export interface Chunk {
  leader: PartyId;
  wordStart: number;
  wordEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** The three chunks of an n-value vector. */
export function chunksOf(values: number): Chunk[] {
  const words = wordsFor(values);
  return PARTIES.map((leader) => {
    const wordStart = Math.floor((leader * words) / 3);
    const wordEnd = Math.floor(((leader + 1) * words) / 3);
    return {
      leader,
      wordStart,
      wordEnd,
      valueStart: Math.min(values, wordStart * 64),
      valueEnd: Math.min(values, wordEnd * 64),
    };
  });
}

/** Random bits shared both ways: `bits` as one bit plane, `values` as 0/1 ring elements. */
export interface DaBits {
  bits: BitShared;
  values: Shared;
}

/**
 * Prepares n daBits on the next two rounds, whatever those rounds carry (call `party.flush()` if
 * none follow). The binary bit r = r0 ⊕ r1 ⊕ r2 is free: r_j comes from PRSS key j. In its chunk,
 * the leader s knows t = r_s ⊕ r_{s+1} and shares it (round 1); the other two know r_{s+2} and
 * multiply it into [t] (round 2); then [r] = [t] + r_{s+2} − 2·[t·r_{s+2}].
 * Costs 24 bytes per bit over all parties, none of them on the critical path when riding.
 */
export function prepareDaBits(party: Party, n: number): Promise<DaBits> {
  const bits: BitShared = party.prss.pair(wordsFor(n));
  const chunks = chunksOf(n);
  const roleIn = (chunk: Chunk) => relativeRole(party.id, chunk.leader);
  // The leader of a chunk knows r_s (its own component) and r_{s+1} (its next).
  const known = bitsToWords(xorWords(bits.own, bits.next), n);
  const pending = chunks.map((chunk) => {
    const t = roleIn(chunk) === 0 ? known.subarray(chunk.valueStart, chunk.valueEnd) : null;
    return startShareFrom(party, chunk.leader, t, chunk.valueEnd - chunk.valueStart);
  });
  return new Promise((resolve) => {
    party.ride({
      output: { prev: sendsOf(pending) },
      input: { next: countOf(chunks.find((c) => roleIn(c) === 2)) * WORD_BYTES },
      arrived: (frames) => {
        const t = concat(
          pending.map((p, s) => p.finish(roleIn(chunks[s] as Chunk) === 2 ? wordsOf(frames.next) : null)),
        );
        multiplyByPairBit(party, chunks, t, bits, (values) => resolve({ bits, values }));
      },
    });
  });
}

/**
 * Round 2 of {@link prepareDaBits}: [t·v] with v = r_{s+2}, known to parties s+1 and s+2 but not to
 * the leader s. Party s+1 computes w1 = t_{s+1}·v, party s+2 computes w2 = (t_{s+2} + t_s)·v, and with
 * ρ from key s and σ from key s+2 the product's components are ρ, w1 + σ and w2 − ρ − σ: two ring
 * elements sent, instead of three for a general multiplication.
 */
function multiplyByPairBit(
  party: Party,
  chunks: readonly Chunk[],
  t: Shared,
  bits: BitShared,
  done: (values: Shared) => void,
): void {
  const n = t.own.length;
  const product: Shared = { own: new BigUint64Array(n), next: new BigUint64Array(n) };
  const v = new BigUint64Array(n);
  const sends: BigUint64Array[] = [];
  const receives: Chunk[] = [];
  for (const chunk of chunks) {
    const { valueStart: start, valueEnd: end } = chunk;
    const rho = party.prss.words(chunk.leader, end - start);
    const sigma = party.prss.words(((chunk.leader + 2) % 3) as PartyId, end - start);
    const role = relativeRole(party.id, chunk.leader);
    // v = r_{s+2}: party s+1 holds it as its next component, party s+2 as its own.
    if (role !== 0) bitsToWordsInto(v, role === 1 ? bits.next : bits.own, start, end);
    if (role === 0) {
      product.own.set(rho as BigUint64Array, start);
      receives.push(chunk);
    } else if (role === 1) {
      // w1 + σ, w1 = t_{s+1}·v
      mulAddInto(product.own, t.own, v, sigma as BigUint64Array, start);
      sends.push(product.own.subarray(start, end));
      receives.push(chunk);
    } else {
      // w2 − ρ − σ, w2 = (t_{s+2} + t_s)·v
      pairProductShare(product.own, t, v, rho as BigUint64Array, sigma as BigUint64Array, start);
      sends.push(product.own.subarray(start, end));
      product.next.set(rho as BigUint64Array, start);
    }
  }
  party.ride({
    output: { prev: sends },
    input: { next: receives.reduce((sum, c) => sum + c.valueEnd - c.valueStart, 0) * WORD_BYTES },
    arrived: (frames) => {
      let offset = 0;
      for (const chunk of receives) {
        const count = chunk.valueEnd - chunk.valueStart;
        product.next.set(wordsOf(frames.next, offset, count), chunk.valueStart);
        offset += count * WORD_BYTES;
      }
      // [r] = [t] + v − 2·[t·v]; v is component s+2: party s+2's own, party s+1's next.
      const values: Shared = { own: new BigUint64Array(n), next: new BigUint64Array(n) };
      for (const chunk of chunks) {
        const role = relativeRole(party.id, chunk.leader);
        const range = [chunk.valueStart, chunk.valueEnd] as const;
        combineDaBits(values.own, t.own, product.own, v, role === 2 ? 1n : 0n, ...range);
        combineDaBits(values.next, t.next, product.next, v, role === 1 ? 1n : 0n, ...range);
      }
      done(values);
    },
  });
}

/** out[i] = (t.own[i] + t.next[i])·v[i] − ρ[i − start] − σ[i − start], over ρ's length. */
function pairProductShare(
  out: BigUint64Array,
  t: Shared,
  v: BigUint64Array,
  rho: BigUint64Array,
  sigma: BigUint64Array,
  start: number,
): void {
  const { own, next } = t;
  for (let k = 0; k < rho.length; k++) {
    const i = start + k;
    out[i] =
      ((own[i] as bigint) + (next[i] as bigint)) * (v[i] as bigint) -
      (rho[k] as bigint) -
      (sigma[k] as bigint);
  }
}

/** out = t − 2·product + weight·v over [start, end): one component of [t] + v − 2[t·v]. */
function combineDaBits(
  out: BigUint64Array,
  t: BigUint64Array,
  product: BigUint64Array,
  v: BigUint64Array,
  weight: bigint,
  start: number,
  end: number,
): void {
  for (let i = start; i < end; i++) {
    out[i] = (t[i] as bigint) - 2n * (product[i] as bigint) + weight * (v[i] as bigint);
  }
}

/** Binary shares → arithmetic 0/1 shares, by opening b ⊕ r against daBits: [b] = e + [r] − 2e[r]. */
export async function injectBits(
  party: Party,
  bits: BitShared,
  n: number,
  daBits: Promise<DaBits>,
): Promise<Shared> {
  await party.flush();
  const random = await daBits;
  const opened = await openBits(party, xor(bits, random.bits));
  const flips = bitsToWords(opened, n);
  const { own: r0, next: r1 } = random.values;
  const own = new BigUint64Array(n);
  const next = new BigUint64Array(n);
  // [b] = [r] + e·(1 − 2[r]): the public 1 lands in component 0. Branch-free, so V8 keeps it native.
  const oneInOwn = party.id === 0 ? 1n : 0n;
  const oneInNext = party.id === 2 ? 1n : 0n;
  for (let v = 0; v < n; v++) {
    const e = flips[v] as bigint;
    own[v] = (r0[v] as bigint) + e * (oneInOwn - 2n * (r0[v] as bigint));
    next[v] = (r1[v] as bigint) + e * (oneInNext - 2n * (r1[v] as bigint));
  }
  return { own, next };
}

/** Binary → arithmetic for bits shared on their own: prepares the daBits and injects, three rounds. */
export function bitInjection(party: Party, bits: BitShared, n: number): Promise<Shared> {
  return injectBits(party, bits, n, prepareDaBits(party, n));
}

/**
 * Local share conversion (the split of Mohassel–Rindal, rotated by chunk): in chunk s, the leader
 * knows y = x_s + x_{s+1} and shares its low `bits` bits in one round; the other two parties both
 * know c = x_{s+2}, a binary sharing for free. Then x ≡ y + c (mod 2^64), to be added in binary.
 * With `negateC`, c is −x_{s+2}, so that x ≡ y − c and x ≡ 0 iff y = c.
 */
export async function splitToBits(
  party: Party,
  x: Shared,
  bits: number,
  negateC: boolean,
): Promise<{ y: BitShared; c: BitShared }> {
  const n = x.own.length;
  const words = wordsFor(n);
  const chunks = chunksOf(n);
  const local = new BigUint64Array(n);
  for (const chunk of chunks) {
    const { valueStart: start, valueEnd: end } = chunk;
    switch (relativeRole(party.id, chunk.leader)) {
      case 0:
        addRange(local, x.own, x.next, start, end);
        break;
      case 1:
        local.set(x.next.subarray(start, end), start);
        break;
      case 2:
        local.set(x.own.subarray(start, end), start);
        break;
    }
    if (negateC && relativeRole(party.id, chunk.leader) !== 0) {
      negateRange(local, start, end);
    }
  }
  const planes = bitslice(local, bits);
  const y: BitShared = { own: new BigUint64Array(bits * words), next: new BigUint64Array(bits * words) };
  const c: BitShared = { own: new BigUint64Array(bits * words), next: new BigUint64Array(bits * words) };
  let send: BigUint64Array | undefined;
  let receiveChunk: Chunk | undefined;
  for (const chunk of chunks) {
    const width = chunk.wordEnd - chunk.wordStart;
    const mask = party.prss.words(((chunk.leader + 1) % 3) as PartyId, bits * width);
    const role = relativeRole(party.id, chunk.leader);
    for (let j = 0; j < bits; j++) {
      const at = j * words + chunk.wordStart;
      const mine = planes.subarray(at, at + width);
      const maskPlane = mask?.subarray(j * width, (j + 1) * width);
      if (role === 0) {
        xorInto(y.own, at, mine, maskPlane as BigUint64Array);
        y.next.set(maskPlane as BigUint64Array, at);
      } else if (role === 1) {
        y.own.set(maskPlane as BigUint64Array, at);
        c.next.set(mine, at);
      } else {
        c.own.set(mine, at);
      }
    }
    if (role === 0) send = gatherPlanes(y.own, bits, words, chunk);
    if (role === 2) receiveChunk = chunk;
  }
  const width = receiveChunk === undefined ? 0 : receiveChunk.wordEnd - receiveChunk.wordStart;
  const frames = await party.round({ prev: [send as BigUint64Array] }, { next: bits * width * WORD_BYTES });
  if (receiveChunk !== undefined) {
    const received = wordsOf(frames.next);
    for (let j = 0; j < bits; j++) {
      y.next.set(received.subarray(j * width, (j + 1) * width), j * words + receiveChunk.wordStart);
    }
  }
  return { y, c };
}

function gatherPlanes(planes: BigUint64Array, bits: number, words: number, chunk: Chunk): BigUint64Array {
  const width = chunk.wordEnd - chunk.wordStart;
  const out = new BigUint64Array(bits * width);
  for (let j = 0; j < bits; j++) {
    out.set(planes.subarray(j * words + chunk.wordStart, j * words + chunk.wordEnd), j * width);
  }
  return out;
}

function sendsOf(pending: readonly PendingShare[]): BigUint64Array[] {
  return pending.flatMap((p) => (p.send === null ? [] : [p.send]));
}

function countOf(chunk: Chunk | undefined): number {
  return chunk === undefined ? 0 : chunk.valueEnd - chunk.valueStart;
}
