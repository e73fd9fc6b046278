/**
 * Secure shuffle of shared vectors (Asharov et al. 2022, three-party replicated sharing): three
 * passes, each a permutation known to one pair of parties and hidden from the third, so no party
 * knows the composed permutation. Three rounds; two ring elements per value and column per party.
 * @module
 */
import { relativeRole, type Shared, WORD_BYTES } from "./arithmetic.ts";
import { type Party, wordsOf } from "./party.ts";
import { PARTIES, type PartyId } from "./transport/types.ts";
import { addWords } from "./words.ts";

/**
 * Applies one secret random permutation to several columns of equal length (rows stay together).
 *
 * In the pass led by party A, A and its successor B share π (from their PRSS key k_{A+1}). They
 * hold a 2-out-of-2 sharing a = x_A + x_{A+1} (A) and b = x_{A+2} (B), permute it locally, and hand
 * the third party C fresh components: A sends π(a) − z − μ, B sends π(b) + μ, where z (the new
 * component A+1) and μ come from k_{A+1} too. C sees values masked by μ and z, which it lacks.
 */
export async function shuffle(party: Party, columns: readonly Shared[]): Promise<Shared[]> {
  let current = columns.map((c) => ({ own: c.own, next: c.next }));
  const n = current[0]?.own.length ?? 0;
  for (const leader of PARTIES) current = await shufflePass(party, leader, current, n);
  return current;
}

async function shufflePass(party: Party, leader: PartyId, columns: Shared[], n: number): Promise<Shared[]> {
  const pairKey = ((leader + 1) % 3) as PartyId;
  const order = party.prss.words(pairKey, n);
  const fresh = columns.map(() => party.prss.words(pairKey, n));
  const masks = columns.map(() => party.prss.words(pairKey, n));
  const role = relativeRole(party.id, leader);
  if (role === 2) {
    const bytes = columns.length * n * WORD_BYTES;
    const frames = await party.round({}, { prev: bytes, next: bytes });
    // From B (predecessor): component A+2; from A (successor): component A.
    return columns.map((_, k) => ({
      own: wordsOf(frames.prev, k * n * WORD_BYTES, n).slice(),
      next: wordsOf(frames.next, k * n * WORD_BYTES, n).slice(),
    }));
  }
  const permutation = permutationFrom(order as BigUint64Array);
  const outgoing: BigUint64Array[] = [];
  const result = columns.map((column, k) => {
    const z = fresh[k] as BigUint64Array;
    const mu = masks[k] as BigUint64Array;
    // A: π(x_A + x_{A+1}) − z − μ; B: π(x_{A+2}) + μ, with μ negated to share the kernel.
    const sent =
      role === 0
        ? permuteMasked(permutation, column.own, column.next, addWords(z, mu), -1n)
        : permuteMasked(permutation, column.next, null, mu, 1n);
    outgoing.push(sent);
    return role === 0 ? { own: sent, next: z } : { own: z, next: sent };
  });
  // A sends to its predecessor C, B to its successor C.
  await party.round(role === 0 ? { prev: outgoing } : { next: outgoing }, {});
  return result;
}

/** out[i] = a[π(i)] (+ b[π(i)]) + sign·mask[i]. */
function permuteMasked(
  permutation: Uint32Array,
  a: BigUint64Array,
  b: BigUint64Array | null,
  mask: BigUint64Array,
  sign: bigint,
): BigUint64Array {
  const out = new BigUint64Array(permutation.length);
  if (b === null) {
    for (let i = 0; i < out.length; i++)
      out[i] = (a[permutation[i] as number] as bigint) + sign * (mask[i] as bigint);
  } else {
    for (let i = 0; i < out.length; i++) {
      const from = permutation[i] as number;
      out[i] = (a[from] as bigint) + (b[from] as bigint) + sign * (mask[i] as bigint);
    }
  }
  return out;
}

/**
 * A uniformly random permutation by Fisher–Yates, from 53 random bits per step (the top 53 of each
 * word, read as two 32-bit halves to stay off the BigInt path); the bias is below 2^−30 for n < 2^23.
 */
export function permutationFrom(random: BigUint64Array): Uint32Array {
  const n = random.length;
  const halves = new Uint32Array(random.buffer, random.byteOffset, 2 * n);
  const permutation = new Uint32Array(n);
  for (let i = 0; i < n; i++) permutation[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const top53 = (halves[2 * i + 1] as number) * 2 ** 21 + ((halves[2 * i] as number) >>> 11);
    const j = Math.floor((top53 / 2 ** 53) * (i + 1));
    const held = permutation[i] as number;
    permutation[i] = permutation[j] as number;
    permutation[j] = held;
  }
  return permutation;
}
