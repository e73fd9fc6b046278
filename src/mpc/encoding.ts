/**
 * One party's shares as bytes, the body of a message between a client and a node: the own
 * components, then the next ones, as little-endian 64-bit words.
 * @module
 */
import type { Shared } from "./arithmetic.ts";

/** Shares as a body: the own components, then the next ones. */
export function encodeShares(shares: Shared | undefined): Uint8Array {
  if (shares === undefined) return new Uint8Array(0);
  const body = new BigUint64Array(2 * shares.own.length);
  body.set(shares.own);
  body.set(shares.next, shares.own.length);
  return new Uint8Array(body.buffer);
}

/** A body as shares of `words` values. @throws {RangeError} when its length does not match. */
export function decodeShares(body: Uint8Array, words: number, what: string): Shared {
  if (body.length !== 2 * words * 8) {
    throw new RangeError(
      `${what} has ${body.length} bytes where ${2 * words * 8} (shares of ${words} values) were due`,
    );
  }
  const aligned = body.byteOffset % 8 === 0 ? body : body.slice();
  const all = new BigUint64Array(aligned.buffer, aligned.byteOffset, 2 * words);
  return { own: all.subarray(0, words), next: all.subarray(words) };
}
