/**
 * Pseudo-random secret sharing (PRSS): three AES-128 keys, each known to one pair of nodes, expanded
 * locally into correlated randomness, so the protocols need no offline phase and no dealer.
 * @module
 */
import { type Cipher, createCipheriv, randomBytes } from "node:crypto";
import type { PartyId } from "./transport/types.ts";

/** Bytes in one PRSS key (AES-128). */
export const PRSS_KEY_BYTES = 16;

/**
 * Key j is known to parties j and j − 1: party i holds its own key k_i (shared with its predecessor)
 * and k_{i+1} (shared with its successor). That matches the components of a replicated sharing —
 * component j is held by parties j and j − 1 — so component j can be drawn from key j.
 *
 * Each key gives one AES-128-CTR keystream, and every draw from a key takes its next words. The two
 * holders of a key stay in step because every protocol makes the same draws on every party, in the
 * same order and of the same sizes (sizes are public); a party that lacks the key gets null and
 * draws nothing. One cipher per key for the whole connection: no cipher is set up per draw.
 */
export class Prss {
  readonly #streams: ReadonlyMap<PartyId, KeyStream>;

  constructor(
    readonly party: PartyId,
    ownKey: Uint8Array,
    nextKey: Uint8Array,
  ) {
    if (ownKey.length !== PRSS_KEY_BYTES || nextKey.length !== PRSS_KEY_BYTES) {
      throw new Error(`PRSS keys must be ${PRSS_KEY_BYTES} bytes`);
    }
    this.#streams = new Map([
      [party, new KeyStream(ownKey)],
      [nextParty(party), new KeyStream(nextKey)],
    ]);
  }

  /** A fresh random key for this party's own share of the PRSS. */
  static freshKey(): Uint8Array {
    return randomBytes(PRSS_KEY_BYTES);
  }

  /** True when this party holds key j. */
  holds(key: PartyId): boolean {
    return this.#streams.has(key);
  }

  /** The next `words` 64-bit words of key j's stream, or null if this party lacks the key. */
  words(key: PartyId, words: number): BigUint64Array | null {
    return this.#streams.get(key)?.take(words) ?? null;
  }

  /** The next words of both of this party's keys: its own key's, then the next key's. */
  pair(words: number): { own: BigUint64Array; next: BigUint64Array } {
    return {
      own: this.#stream(this.party).take(words),
      next: this.#stream(nextParty(this.party)).take(words),
    };
  }

  #stream(key: PartyId): KeyStream {
    const stream = this.#streams.get(key);
    if (stream === undefined) throw new Error(`party ${this.party} does not hold PRSS key ${key}`);
    return stream;
  }
}

/** Keystream is made at least this many words at a time, so small draws cost no cipher call each. */
const BATCH_WORDS = 8192;

let zeros = new Uint8Array(0);

/**
 * One key's AES-128-CTR keystream (the IV is zero: each key is fresh for one connection), handed out
 * in order. Small draws come from a batch made ahead; a draw larger than what is left of the batch
 * skips that rest — both holders skip the same words, as they draw the same sizes.
 */
class KeyStream {
  readonly #cipher: Cipher;
  #ahead: BigUint64Array = new BigUint64Array(0);

  constructor(key: Uint8Array) {
    this.#cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16));
  }

  take(words: number): BigUint64Array {
    if (words > this.#ahead.length) {
      if (words >= BATCH_WORDS) return this.#generate(words);
      this.#ahead = this.#generate(BATCH_WORDS);
    }
    const drawn = this.#ahead.subarray(0, words);
    this.#ahead = this.#ahead.subarray(words);
    return drawn;
  }

  #generate(words: number): BigUint64Array {
    const bytes = words * 8;
    if (zeros.length < bytes) zeros = new Uint8Array(Math.max(bytes, 2 * zeros.length));
    const stream = this.#cipher.update(zeros.subarray(0, bytes));
    // Large outputs have a buffer of their own; small ones may sit unaligned in Node's pool.
    if (stream.byteOffset % 8 === 0) return new BigUint64Array(stream.buffer, stream.byteOffset, words);
    const out = new BigUint64Array(words);
    new Uint8Array(out.buffer).set(stream);
    return out;
  }
}

/** The party after i in the ring. */
export function nextParty(party: PartyId): PartyId {
  return ((party + 1) % 3) as PartyId;
}

/** The party before i in the ring. */
export function prevParty(party: PartyId): PartyId {
  return ((party + 2) % 3) as PartyId;
}
