/**
 * Runs three MPC parties inside the test process over in-memory transports, and deals and opens
 * shared vectors for differential tests.
 * @module
 */
import { concat, type Shared } from "../../src/mpc/arithmetic.ts";
import { type NodeShares, reconstruct, shareBitWords, shareInputs } from "../../src/mpc/client.ts";
import { Party } from "../../src/mpc/party.ts";
import { memoryTransports } from "../../src/mpc/transport/memory.ts";
import type { PartyId, Transport } from "../../src/mpc/transport/types.ts";

/** Seeded random words (xorshift64*), so differential tests are reproducible. */
export function seededWords(seed: number): (count: number) => BigUint64Array {
  let state = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  return (count) => {
    const out = new BigUint64Array(count);
    for (let i = 0; i < count; i++) {
      state ^= state >> 12n;
      state = BigInt.asUintN(64, state ^ (state << 25n));
      state ^= state >> 27n;
      out[i] = state * 0x2545f4914f6cdd1dn;
    }
    return out;
  };
}

/** Edge values of the ring: 0, 1, 2^63 − 1, 2^63, 2^64 − 1. */
export const EDGE_WORDS = [0n, 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n] as const;

/** Runs one protocol on all three parties at once; returns each party's result. */
export async function runParties<T>(
  protocol: (party: Party) => Promise<T>,
  transports: [Transport, Transport, Transport] = memoryTransports({ timeoutMs: 5000 }),
): Promise<[T, T, T]> {
  try {
    const parties = await Promise.all(transports.map((t) => Party.connect(t)));
    return (await Promise.all(parties.map(protocol))) as [T, T, T];
  } finally {
    await Promise.all(transports.map((t) => t.close()));
  }
}

/** Deals values to the parties as a client would. */
export function deal(values: BigUint64Array, seed = 1): NodeShares {
  return shareInputs(values, seededWords(seed));
}

/** The values behind the parties' shares, checking they are consistent. */
export function openShares(shares: readonly Shared[]): BigUint64Array {
  return reconstruct(shares as NodeShares);
}

/** The shares one party gets from a dealt vector. */
export function sharesOf(dealt: NodeShares, party: PartyId): Shared {
  return dealt[party];
}

/** Each party's shares of a book's inputs: ring elements by addition, then limit words by XOR (seeded). */
export function dealBook(inputs: BigUint64Array, bitWords: BigUint64Array, seed: number): NodeShares {
  const arithmetic = shareInputs(inputs, seededWords(seed));
  const binary = shareBitWords(bitWords, seededWords(seed + 1));
  return [0, 1, 2].map((party) =>
    concat([arithmetic[party] as Shared, binary[party] as Shared]),
  ) as NodeShares;
}
