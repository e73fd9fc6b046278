/**
 * A meter's reading of one slot, secret-shared to the three MPC nodes and signed (seed step 4). The
 * meter splits (importWh, exportWh) into three additive shares, commits to each with a salted
 * SHA-256 digest, and signs its id, the slot and the three digests with its own Ed25519 key. Node i
 * gets shares i and i+1 with their salts, the three digests and the signature: it checks that its
 * shares are the ones the meter signed for this meter and this slot, so a share cannot be replayed
 * in another slot or swapped for another meter's, and it learns nothing of the reading (the salts
 * keep the digest of the share it lacks from being searched).
 *
 * Ed25519 is Node's own (OpenSSL): verifying 5,000 readings takes 0.5 s, a tenth of a pure-JS one.
 * @module
 */
import { createHash, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { z } from "zod";
import type { Shared } from "../../mpc/arithmetic.ts";
import { type RandomWords, secureRandomWords, shareInputs } from "../../mpc/client.ts";
import type { PartyId } from "../../mpc/transport/types.ts";
import { idField, slotTimeField } from "../../validation/index.ts";

const DOMAIN = "snippet-meter-reading-v1";
const SALT_BYTES = 16;

/** One slot's reading, Wh. */
export interface Reading {
  readonly importWh: number;
  readonly exportWh: number;
}

/** What node `node` receives from a meter for one slot (JSON on the wire: hex strings). */
export interface MeterEnvelope {
  readonly meter: string;
  /** Slot start, ISO 8601. */
  readonly slot: string;
  readonly node: PartyId;
  /** Additive shares `node` and `node + 1` of (importWh, exportWh), each two hex words. */
  readonly shares: readonly [readonly [string, string], readonly [string, string]];
  /** Their salts, hex. */
  readonly salts: readonly [string, string];
  /** The salted digests of all three additive shares, hex. */
  readonly digests: readonly [string, string, string];
  /** Ed25519 over the domain, meter, slot and digests, hex. */
  readonly signature: string;
}

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`), { error: () => `is not ${bytes} bytes of hex` });

/** The envelope's shape, checked at the node's boundary before any cryptography. */
export const meterEnvelopeSchema = z.strictObject({
  meter: idField,
  slot: slotTimeField,
  node: z.union([z.literal(0), z.literal(1), z.literal(2)], { error: () => "is not a node index 0, 1 or 2" }),
  shares: z.tuple([z.tuple([hex(8), hex(8)]), z.tuple([hex(8), hex(8)])]),
  salts: z.tuple([hex(SALT_BYTES), hex(SALT_BYTES)]),
  digests: z.tuple([hex(32), hex(32), hex(32)]),
  signature: hex(64),
});

/** Seals a reading for the three nodes. `random` and `salt` are injected for reproducible tests. */
export function sealReading(
  meter: string,
  slot: string,
  reading: Reading,
  key: KeyObject,
  random: RandomWords = secureRandomWords,
  salt: (bytes: number) => Uint8Array = randomBytes,
): [MeterEnvelope, MeterEnvelope, MeterEnvelope] {
  const dealt = shareInputs(new BigUint64Array([BigInt(reading.importWh), BigInt(reading.exportWh)]), random);
  // Node i holds (own, next) = additive shares i and i+1.
  const additive = [0, 1, 2].map((i) => wordsOf((dealt[i] as Shared).own));
  const salts = [0, 1, 2].map(() => Buffer.from(salt(SALT_BYTES)).toString("hex"));
  const digests = additive.map((words, i) => shareDigest(meter, slot, salts[i] as string, words)) as [
    string,
    string,
    string,
  ];
  const signature = sign(null, signedMessage(meter, slot, digests), key).toString("hex");
  return ([0, 1, 2] as const).map((node): MeterEnvelope => {
    const next = ((node + 1) % 3) as PartyId;
    return {
      meter,
      slot,
      node,
      shares: [additive[node] as [string, string], additive[next] as [string, string]],
      salts: [salts[node] as string, salts[next] as string],
      digests,
      signature,
    };
  }) as [MeterEnvelope, MeterEnvelope, MeterEnvelope];
}

/**
 * Node `node`'s check of an envelope from `meter`'s registered key: its shares must be the ones
 * the meter signed for this slot. Returns the node's replicated shares of (importWh, exportWh), or
 * the reason it refuses them.
 */
export function openEnvelope(
  envelope: MeterEnvelope,
  node: PartyId,
  publicKey: KeyObject,
): { shares: Shared } | { refused: string } {
  if (envelope.node !== node) return { refused: `is addressed to node ${envelope.node}, not ${node}` };
  const next = (node + 1) % 3;
  for (const [k, index] of [
    [0, node],
    [1, next],
  ] as const) {
    const digest = shareDigest(envelope.meter, envelope.slot, envelope.salts[k], envelope.shares[k]);
    if (digest !== envelope.digests[index]) return { refused: `share ${index} does not match its digest` };
  }
  const signed = verify(
    null,
    signedMessage(envelope.meter, envelope.slot, envelope.digests),
    publicKey,
    Buffer.from(envelope.signature, "hex"),
  );
  if (!signed) return { refused: `is not signed by meter ${envelope.meter} for slot ${envelope.slot}` };
  const word = (text: string) => BigInt(`0x${text}`);
  return {
    shares: {
      own: BigUint64Array.from(envelope.shares[0], word),
      next: BigUint64Array.from(envelope.shares[1], word),
    },
  };
}

function shareDigest(meter: string, slot: string, salt: string, words: readonly string[]): string {
  return createHash("sha256")
    .update(`${DOMAIN}|share|${meter}|${slot}|${salt}|${words.join(",")}`)
    .digest("hex");
}

function signedMessage(meter: string, slot: string, digests: readonly string[]): Buffer {
  return Buffer.from(`${DOMAIN}|${meter}|${slot}|${digests.join(",")}`);
}

function wordsOf(values: BigUint64Array): [string, string] {
  return [0, 1].map((i) => (values[i] as bigint).toString(16).padStart(16, "0")) as [string, string];
}
