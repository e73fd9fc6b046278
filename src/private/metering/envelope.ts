/**
 * A meter's reading of one slot, secret-shared to the three MPC nodes and signed (seed step 4): the
 * reading's two words (importWh, exportWh) sealed as any party's shares are (`sealed.ts`) under the
 * meter's own domain, so a node checks that its shares are the ones the meter signed for this meter
 * and this slot, and learns nothing of the reading.
 *
 * Ed25519 is Node's own (OpenSSL): verifying 5,000 readings takes 0.5 s, a tenth of a pure-JS one.
 * @module
 */
import type { KeyObject } from "node:crypto";
import type { Shared } from "../../mpc/arithmetic.ts";
import { type RandomWords, secureRandomWords } from "../../mpc/client.ts";
import type { PartyId } from "../../mpc/transport/types.ts";
import { openSealed, type SealedForNode, type SealedHeader, sealShares } from "../sealed.ts";

const DOMAIN = "snippet-meter-reading-v2";

/** The words of a reading: importWh, exportWh. */
export const READING_WORDS = 2;

/** One slot's reading, Wh. */
export interface Reading {
  readonly importWh: number;
  readonly exportWh: number;
}

/** Seals a reading for the three nodes. `random` and `salt` are injected for reproducible tests. */
export function sealReading(
  meter: string,
  slot: string,
  reading: Reading,
  key: KeyObject,
  random: RandomWords = secureRandomWords,
  salt?: (bytes: number) => Uint8Array,
): [SealedForNode, SealedForNode, SealedForNode] {
  const words = new BigUint64Array([BigInt(reading.importWh), BigInt(reading.exportWh)]);
  return sealShares(DOMAIN, meter, slot, words, new BigUint64Array(0), key, random, ...(salt ? [salt] : []));
}

/**
 * Node `node`'s check of a sealed reading from its meter's registered key (`header.sender` names
 * the meter): its replicated shares of (importWh, exportWh), or why it refuses them.
 */
export function openReading(
  header: SealedHeader,
  body: Uint8Array,
  node: PartyId,
  publicKey: KeyObject,
): { shares: Shared } | { refused: string } {
  return openSealed(DOMAIN, header, body, node, publicKey, READING_WORDS);
}
