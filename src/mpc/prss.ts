/**
 * Pseudo-random secret sharing (PRSS): three AES-128 keys, each known to one pair of nodes, expanded
 * locally into correlated randomness, so the protocols need no offline phase and no dealer.
 * @module
 */
import { createCipheriv, randomBytes } from "node:crypto";
import type { PartyId } from "./transport/types.ts";

/** Bytes in one PRSS key (AES-128). */
export const PRSS_KEY_BYTES = 16;

/**
 * Key j is known to parties j and j − 1: party i holds its own key k_i (shared with its predecessor)
 * and k_{i+1} (shared with its successor). That matches the components of a replicated sharing —
 * component j is held by parties j and j − 1 — so component j can be drawn from key j.
 *
 * Every draw takes the next nonce, on every party, whether or not the party holds the key it asks for.
 * Two holders of a key therefore derive the same stream for the same draw however the protocols
 * around it differ by role, and nothing depends on how much was drawn before.
 */
export class Prss {
  #nonce = 0n;
  readonly #keys: ReadonlyMap<PartyId, Buffer>;

  constructor(
    readonly party: PartyId,
    ownKey: Uint8Array,
    nextKey: Uint8Array,
  ) {
    if (ownKey.length !== PRSS_KEY_BYTES || nextKey.length !== PRSS_KEY_BYTES) {
      throw new Error(`PRSS keys must be ${PRSS_KEY_BYTES} bytes`);
    }
    this.#keys = new Map([
      [party, Buffer.from(ownKey)],
      [nextParty(party), Buffer.from(nextKey)],
    ]);
  }

  /** A fresh random key for this party's own share of the PRSS. */
  static freshKey(): Uint8Array {
    return randomBytes(PRSS_KEY_BYTES);
  }

  /** True when this party holds key j. */
  holds(key: PartyId): boolean {
    return this.#keys.has(key);
  }

  /** The next draw of `words` 64-bit words from key j, or null (after spending the nonce) if this party lacks it. */
  words(key: PartyId, words: number): BigUint64Array | null {
    const nonce = this.#nonce++;
    const secret = this.#keys.get(key);
    if (secret === undefined) return null;
    return keystream(secret, nonce, words);
  }

  /** The next draw from both of this party's keys: its own key's words, then the next key's. */
  pair(words: number): { own: BigUint64Array; next: BigUint64Array } {
    const nonce = this.#nonce++;
    return {
      own: keystream(this.#key(this.party), nonce, words),
      next: keystream(this.#key(nextParty(this.party)), nonce, words),
    };
  }

  #key(key: PartyId): Buffer {
    const secret = this.#keys.get(key);
    if (secret === undefined) throw new Error(`party ${this.party} does not hold PRSS key ${key}`);
    return secret;
  }
}

let zeros = new Uint8Array(0);

/** AES-128-CTR keystream for (key, nonce): the nonce fills the IV's upper half, the block counter the lower. */
function keystream(key: Buffer, nonce: bigint, words: number): BigUint64Array {
  const bytes = words * 8;
  if (zeros.length < bytes) zeros = new Uint8Array(Math.max(bytes, 2 * zeros.length));
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(nonce, 0);
  const stream = createCipheriv("aes-128-ctr", key, iv).update(zeros.subarray(0, bytes));
  // Large outputs have a buffer of their own; small ones may sit unaligned in Node's pool.
  if (stream.byteOffset % 8 === 0) return new BigUint64Array(stream.buffer, stream.byteOffset, words);
  const out = new BigUint64Array(words);
  new Uint8Array(out.buffer).set(stream);
  return out;
}

/** The party after i in the ring. */
export function nextParty(party: PartyId): PartyId {
  return ((party + 1) % 3) as PartyId;
}

/** The party before i in the ring. */
export function prevParty(party: PartyId): PartyId {
  return ((party + 2) % 3) as PartyId;
}
