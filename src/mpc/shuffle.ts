/**
 * Secure shuffle of shared vectors (Asharov et al. 2022, three-party replicated sharing): three
 * passes, each a permutation known to one pair of parties and hidden from the third, so no party
 * knows the composed permutation. Three rounds; two ring elements per value and column per party.
 * @module
 */
import { relativeRole, type Shared, WORD_BYTES } from "./arithmetic.ts";
import { type Party, wordsOf } from "./party.ts";
import { PARTIES, type PartyId } from "./transport/types.ts";

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
    const sent = new BigUint64Array(n);
    if (role === 0) {
      for (let i = 0; i < n; i++) {
        const from = permutation[i] as number;
        sent[i] =
          (column.own[from] as bigint) + (column.next[from] as bigint) - (z[i] as bigint) - (mu[i] as bigint);
      }
      outgoing.push(sent);
      return { own: sent, next: z };
    }
    for (let i = 0; i < n; i++)
      sent[i] = (column.next[permutation[i] as number] as bigint) + (mu[i] as bigint);
    outgoing.push(sent);
    return { own: z, next: sent };
  });
  // A sends to its predecessor C, B to its successor C.
  await party.round(role === 0 ? { prev: outgoing } : { next: outgoing }, {});
  return result;
}

/** A uniformly random permutation by Fisher–Yates, from 53 random bits per step (bias below 2^−30 for n < 2^23). */
export function permutationFrom(random: BigUint64Array): Uint32Array {
  const n = random.length;
  const permutation = new Uint32Array(n);
  for (let i = 0; i < n; i++) permutation[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((Number((random[i] as bigint) >> 11n) / 2 ** 53) * (i + 1));
    const held = permutation[i] as number;
    permutation[i] = permutation[j] as number;
    permutation[j] = held;
  }
  return permutation;
}
