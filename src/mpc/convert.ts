/**
 * Conversions between the arithmetic and the binary sharing: local share conversion of arithmetic
 * values to bit planes, random bits shared in both rings (daBits), and bit injection.
 *
 * Protocols with a leading party run on three chunks of the vector, party s leading chunk s, so
 * that every party sends the same amount and every frame goes to the predecessor.
 * @module
 */
import { relativeRole, type Shared, WORD_BYTES } from "./arithmetic.ts";
import { type BitShared, bitslice, bitsToWordsInto, halvesOf, openBits, wordsFor, xor } from "./binary.ts";
import { type Party, wordsOf } from "./party.ts";
import { PARTIES, type PartyId } from "./transport/types.ts";
import { addRange, allocateWords, negateRange, subWords, xorInto, xorWords } from "./words.ts";

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
 * none follow). The binary bit r = r0 ⊕ r1 ⊕ r2 is free: r_j comes from PRSS key j. In chunk s:
 *
 * 1. the leader s knows t = r_s ⊕ r_{s+1} and shares it as (t − m, m, 0), m from key s+1, sending
 *    t − m to its predecessor;
 * 2. parties s+1 and s+2 know v = r_{s+2}; they multiply it into [t] with two words instead of a
 *    general multiplication's three: with ρ from key s and σ from key s+2 the product's components
 *    are ρ, m·v + σ (party s+1 sends it to s) and (t − m)·v − ρ − σ (party s+2 sends it to s+1);
 * 3. [r] = [t] + v − 2·[t·v], v joining component s+2.
 *
 * 24 bytes per bit over all parties, none of them on the critical path when riding.
 */
export function prepareDaBits(party: Party, n: number): Promise<DaBits> {
  const bits: BitShared = party.prss.pair(wordsFor(n));
  // Every chunk writes both components of its values, the last ones when round 2 arrives.
  const values: Shared = { own: allocateWords(n), next: allocateWords(n) };
  const chunks = chunksOf(n);
  const roleIn = (chunk: Chunk) => relativeRole(party.id, chunk.leader);
  const countOf = (chunk: Chunk) => chunk.valueEnd - chunk.valueStart;
  const bitsOf = (words: BigUint64Array, chunk: Chunk) => {
    const out = allocateWords(countOf(chunk));
    bitsToWordsInto(out, words, chunk.valueStart, chunk.valueEnd, chunk.valueStart);
    return out;
  };
  // Round 1: masks for every chunk (all parties draw, to stay in step); the leader sends t − m.
  const masks = chunks.map((chunk) => party.prss.words(((chunk.leader + 1) % 3) as PartyId, countOf(chunk)));
  const led = chunks.find((c) => roleIn(c) === 0) as Chunk;
  const ledMask = masks[led.leader] as BigUint64Array;
  const masked = subWords(bitsOf(xorWords(bits.own, bits.next), led), ledMask);
  const fromLeader = chunks.find((c) => roleIn(c) === 2) as Chunk;
  return new Promise((resolve) => {
    party.ride({
      output: { prev: [masked] },
      input: { next: countOf(fromLeader) * WORD_BYTES },
      arrived: (first) => {
        const received = wordsOf(first.next, 0, countOf(fromLeader));
        // Round 2: the two others multiply v = r_{s+2} into [t].
        const sends: BigUint64Array[] = [];
        const finish: ((incoming: BigUint64Array) => void)[] = [];
        for (const chunk of chunks) {
          const rho = party.prss.words(chunk.leader, countOf(chunk));
          const sigma = party.prss.words(((chunk.leader + 2) % 3) as PartyId, countOf(chunk));
          const at = chunk.valueStart;
          const mask = masks[chunk.leader] as BigUint64Array;
          if (roleIn(chunk) === 0) {
            // components s (t − m − 2ρ) and s+1 (m − 2·(m·v + σ))
            doubleDifference(values.own, at, masked, rho as BigUint64Array);
            finish.push((fromNext) => doubleDifference(values.next, at, mask, fromNext));
          } else if (roleIn(chunk) === 1) {
            const v = bitsOf(bits.next, chunk);
            const sent = mulAdd(mask, v, sigma as BigUint64Array);
            sends.push(sent);
            // components s+1 (m − 2·(m·v + σ)) and s+2 (v − 2·((t − m)·v − ρ − σ))
            doubleDifference(values.own, at, mask, sent);
            finish.push((fromNext) => doubleDifference(values.next, at, v, fromNext));
          } else {
            const v = bitsOf(bits.own, chunk);
            const sent = mulSub(received, v, rho as BigUint64Array, sigma as BigUint64Array);
            sends.push(sent);
            // components s+2 (v − 2·((t − m)·v − ρ − σ)) and s (t − m − 2ρ)
            doubleDifference(values.own, at, v, sent);
            doubleDifference(values.next, at, received, rho as BigUint64Array);
          }
        }
        const incoming = chunks.filter((c) => roleIn(c) !== 2);
        party.ride({
          output: { prev: sends },
          input: { next: incoming.reduce((sum, c) => sum + countOf(c), 0) * WORD_BYTES },
          arrived: (second) => {
            let offset = 0;
            incoming.forEach((chunk, k) => {
              (finish[k] as (fromNext: BigUint64Array) => void)(wordsOf(second.next, offset, countOf(chunk)));
              offset += countOf(chunk) * WORD_BYTES;
            });
            resolve({ bits, values });
          },
        });
      },
    });
  });
}

/** out[at + k] = a[k] − 2·b[k]. */
function doubleDifference(out: BigUint64Array, at: number, a: BigUint64Array, b: BigUint64Array): void {
  for (let k = 0; k < a.length; k++) out[at + k] = (a[k] as bigint) - 2n * (b[k] as bigint);
}

/** a·v + c, element-wise. */
function mulAdd(a: BigUint64Array, v: BigUint64Array, c: BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  for (let k = 0; k < out.length; k++) out[k] = (a[k] as bigint) * (v[k] as bigint) + (c[k] as bigint);
  return out;
}

/** a·v − c − d, element-wise. */
function mulSub(a: BigUint64Array, v: BigUint64Array, c: BigUint64Array, d: BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  for (let k = 0; k < out.length; k++) {
    out[k] = (a[k] as bigint) * (v[k] as bigint) - (c[k] as bigint) - (d[k] as bigint);
  }
  return out;
}

/** Binary shares → arithmetic 0/1 shares, by opening b ⊕ r against daBits: [b] = e + [r] − 2e[r]. */
export async function injectBits(party: Party, bits: BitShared, daBits: Promise<DaBits>): Promise<Shared> {
  await party.flush();
  const random = await daBits;
  const opened = await openBits(party, xor(bits, random.bits));
  // [b] = [r] + e·(1 − 2[r]): the public 1 lands in component 0. The daBits are used up, so their
  // words take the result in place.
  flipWhereSet(random.values.own, opened, party.id === 0 ? 1n : 0n);
  flipWhereSet(random.values.next, opened, party.id === 2 ? 1n : 0n);
  return random.values;
}

/** x[v] = x[v] + e_v·(one − 2·x[v]) where e_v is bit v of the words: branch-free, so V8 keeps it native. */
function flipWhereSet(x: BigUint64Array, bits: BigUint64Array, one: bigint): void {
  const halves = halvesOf(bits);
  for (let v = 0; v < x.length; v++) {
    const e = BigInt(((halves[v >>> 5] as number) >>> (v & 31)) & 1);
    x[v] = (x[v] as bigint) + e * (one - 2n * (x[v] as bigint));
  }
}

/** Binary → arithmetic for bits shared on their own: prepares the daBits and injects, three rounds. */
export function bitInjection(party: Party, bits: BitShared, n: number): Promise<Shared> {
  return injectBits(party, bits, prepareDaBits(party, n));
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
  const local = allocateWords(n);
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
  const out = allocateWords(bits * width);
  for (let j = 0; j < bits; j++) {
    out.set(planes.subarray(j * words + chunk.wordStart, j * words + chunk.wordEnd), j * width);
  }
  return out;
}
