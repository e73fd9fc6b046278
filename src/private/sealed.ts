/**
 * Shares sealed for the three nodes by the party they belong to (a household's slot intent): the
 * sender splits its words into three components (ring words by addition, bit words by XOR), commits
 * to each with a salted SHA-256 digest, and signs its id, the slot and the three digests with its
 * Ed25519 key. Node i gets components i and i+1 with their salts, the three digests and the
 * signature: it checks that its components are the ones the sender signed for that slot, so they
 * cannot be replayed into another slot or passed off as another party's, and the three nodes can
 * tell whether they hold the same sealed words (the same signature). The salts keep the digest of
 * the component a node lacks from being searched.
 * @module
 */
import { createHash, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { z } from "zod";
import { concat, type Shared } from "../mpc/arithmetic.ts";
import { type RandomWords, secureRandomWords, shareBitWords, shareInputs } from "../mpc/client.ts";
import { decodeShares, encodeShares } from "../mpc/encoding.ts";
import type { PartyId } from "../mpc/transport/types.ts";
import { idField, slotTimeField } from "../validation/index.ts";

const SALT_BYTES = 16;

/** The header node `node` receives with its two components (the body). */
export interface SealedHeader {
  readonly sender: string;
  /** Slot start, ISO 8601. */
  readonly slot: string;
  readonly node: PartyId;
  /** The salts of components `node` and `node + 1`, hex. */
  readonly salts: readonly [string, string];
  /** The salted digests of all three components, hex. */
  readonly digests: readonly [string, string, string];
  /** Ed25519 over the domain, sender, slot and digests, hex. */
  readonly signature: string;
}

const hex = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`), { error: () => `is not ${bytes} bytes of hex` });

/** The header's shape, checked at the node's boundary before any cryptography. */
export const sealedHeaderSchema = z.strictObject({
  sender: idField,
  slot: slotTimeField,
  node: z.union([z.literal(0), z.literal(1), z.literal(2)], { error: () => "is not a node index 0, 1 or 2" }),
  salts: z.tuple([hex(SALT_BYTES), hex(SALT_BYTES)]),
  digests: z.tuple([hex(32), hex(32), hex(32)]),
  signature: hex(64),
});

/** What one node gets: its header and its two components as a body. */
export interface SealedForNode {
  readonly header: SealedHeader;
  readonly body: Uint8Array;
}

/**
 * Seals `ringWords` (shared by addition) and `bitWords` (shared by XOR) of `sender` for `slot`.
 * `random` and `salt` are injected for reproducible tests.
 */
export function sealShares(
  domain: string,
  sender: string,
  slot: string,
  ringWords: BigUint64Array,
  bitWords: BigUint64Array,
  key: KeyObject,
  random: RandomWords = secureRandomWords,
  salt: (bytes: number) => Uint8Array = randomBytes,
): [SealedForNode, SealedForNode, SealedForNode] {
  const ring = shareInputs(ringWords, random);
  const bits = shareBitWords(bitWords, random);
  // Component c is what parties c and c − 1 both hold: party c's `own`.
  const components = [0, 1, 2].map((c) => concat([ring[c] as Shared, bits[c] as Shared]).own);
  const salts = [0, 1, 2].map(() => Buffer.from(salt(SALT_BYTES)).toString("hex"));
  const digests = components.map((words, c) =>
    componentDigest(domain, sender, slot, salts[c] as string, words),
  ) as [string, string, string];
  const signature = sign(null, signedMessage(domain, sender, slot, digests), key).toString("hex");
  return ([0, 1, 2] as const).map((node): SealedForNode => {
    const next = ((node + 1) % 3) as PartyId;
    return {
      header: {
        sender,
        slot,
        node,
        salts: [salts[node] as string, salts[next] as string],
        digests,
        signature,
      },
      body: encodeShares({
        own: components[node] as BigUint64Array,
        next: components[next] as BigUint64Array,
      }),
    };
  }) as [SealedForNode, SealedForNode, SealedForNode];
}

/**
 * Node `node`'s check of sealed shares from `sender`'s registered key: `words` of them, its components
 * the ones the sender signed for this slot. Returns the node's replicated shares, or why it refuses them.
 */
export function openSealed(
  domain: string,
  header: SealedHeader,
  body: Uint8Array,
  node: PartyId,
  publicKey: KeyObject,
  words: number,
): { shares: Shared } | { refused: string } {
  if (header.node !== node) return { refused: `is addressed to node ${header.node}, not ${node}` };
  let shares: Shared;
  try {
    shares = decodeShares(body, words, "its shares");
  } catch (error) {
    return { refused: error instanceof Error ? error.message : String(error) };
  }
  const next = (node + 1) % 3;
  for (const [component, index, salt] of [
    [shares.own, node, header.salts[0]],
    [shares.next, next, header.salts[1]],
  ] as const) {
    if (componentDigest(domain, header.sender, header.slot, salt, component) !== header.digests[index])
      return { refused: `share ${index} does not match its digest` };
  }
  const signed = verify(
    null,
    signedMessage(domain, header.sender, header.slot, header.digests),
    publicKey,
    Buffer.from(header.signature, "hex"),
  );
  if (!signed) return { refused: `is not signed by ${header.sender} for slot ${header.slot}` };
  return { shares };
}

function componentDigest(
  domain: string,
  sender: string,
  slot: string,
  salt: string,
  words: BigUint64Array,
): string {
  return createHash("sha256")
    .update(`${domain}|share|${sender}|${slot}|${salt}|`)
    .update(new Uint8Array(words.buffer, words.byteOffset, words.byteLength))
    .digest("hex");
}

function signedMessage(domain: string, sender: string, slot: string, digests: readonly string[]): Buffer {
  return Buffer.from(`${domain}|${sender}|${slot}|${digests.join(",")}`);
}
