/**
 * Each node's keyed stream for the ledger's line openings, from its ledger key: a stream per slot and
 * household, so that a node gives a household the same salt (and, in a simulation, the same share)
 * whenever it asks. Without viem, so a node loads it at start for free.
 * @module
 */
import { createHash } from "node:crypto";
import { LINE_FIELDS } from "./line-fields.ts";

/** Bytes of a node's shares of one line: one 64-bit word per field. */
export const SHARE_BYTES = LINE_FIELDS.length * 8;
/** Bytes of a node's salt of one line. */
export const SALT_BYTES = 32;

/** A node's key for its streams, derived from its ledger key (0x-hex secp256k1). */
export function openingStreamKey(ledgerKey: `0x${string}`): Uint8Array {
  return createHash("sha256")
    .update("snippet ledger openings")
    .update(Buffer.from(ledgerKey.slice(2), "hex"))
    .digest();
}

/** A node's stream for a household's line of a slot: SHARE_BYTES of shares, then its salt. */
export function openingStream(streamKey: Uint8Array, slot: string, household: `0x${string}`): Buffer {
  return createHash("shake256", { outputLength: SHARE_BYTES + SALT_BYTES })
    .update(streamKey)
    .update(`${slot}|${household.toLowerCase()}`)
    .digest();
}

/** A node's salt of a household's line of a slot. */
export function openingSalt(streamKey: Uint8Array, slot: string, household: `0x${string}`): Uint8Array {
  return openingStream(streamKey, slot, household).subarray(SHARE_BYTES);
}
