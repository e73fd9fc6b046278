/**
 * The small public-key toolkit of meters, parties and nodes, on Node's own crypto (OpenSSL): raw
 * 32-byte Ed25519 and X25519 keys as hex, Ed25519 signatures over canonical JSON, and sealed boxes
 * (X25519 + HKDF-SHA256 + AES-256-GCM) that only their recipient opens.
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";

/** Which curve a key is on: Ed25519 signs, X25519 agrees keys for sealing. */
export type KeyKind = "ed25519" | "x25519";

const CURVE = { ed25519: "Ed25519", x25519: "X25519" } as const;

/** A fresh key pair as raw hex: what a registry lists and what its owner keeps. */
export function generateRawKeyPair(kind: KeyKind): { publicHex: string; privateHex: string } {
  const { privateKey } = generateKeyPairSync(kind as "ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { publicHex: hexOf(jwk.x as string), privateHex: hexOf(jwk.d as string) };
}

/** A raw 32-byte public key (hex) as a key object. @throws {TypeError} when it is not a point on the curve. */
export function publicKeyFromHex(kind: KeyKind, publicHex: string): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: CURVE[kind], x: base64urlOf(publicHex) }, format: "jwk" });
}

/** A raw 32-byte private key (hex) as a key object. */
export function privateKeyFromHex(kind: KeyKind, privateHex: string): KeyObject {
  // As PKCS#8 DER: a JWK would want the public half too.
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX[kind], Buffer.from(privateHex, "hex")]),
    format: "der",
    type: "pkcs8",
  });
}

/** The raw public key of a key object, hex. */
export function publicHexOf(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return hexOf(publicKey.export({ format: "jwk" }).x as string);
}

/** DER PKCS#8 headers of raw 32-byte Ed25519 and X25519 private keys (RFC 8410). */
const PKCS8_PREFIX = {
  ed25519: Buffer.from("302e020100300506032b657004220420", "hex"),
  x25519: Buffer.from("302e020100300506032b656e04220420", "hex"),
} as const;

/** JSON with object keys sorted at every level: the same bytes for the same value wherever it was built. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Ed25519 over `domain|canonical JSON of value`, hex. */
export function signJson(domain: string, value: unknown, key: KeyObject): string {
  return sign(null, Buffer.from(`${domain}|${canonicalJson(value)}`), key).toString("hex");
}

/** Whether `signatureHex` is `key`'s signature of `value` under `domain`. */
export function verifyJson(domain: string, value: unknown, signatureHex: string, key: KeyObject): boolean {
  return verify(
    null,
    Buffer.from(`${domain}|${canonicalJson(value)}`),
    key,
    Buffer.from(signatureHex, "hex"),
  );
}

/** Boxes sealed by one sender for many recipients: one ephemeral key, one box per recipient. */
export interface SealedBoxes {
  /** The sender's ephemeral X25519 public key, hex. */
  readonly key: string;
  /** Ciphertext and tag per recipient id, base64. */
  readonly boxes: Readonly<Record<string, string>>;
}

/**
 * Seals each recipient's bytes to its X25519 key. Every box has its own key, derived from the
 * ephemeral secret, the recipient's id and `context` (which names the job and the sender), so a zero
 * nonce is safe and a box cannot be passed off for another recipient or job.
 */
export function sealBoxes(
  context: string,
  messages: ReadonlyMap<string, { readonly key: KeyObject; readonly bytes: Uint8Array }>,
): SealedBoxes {
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralHex = publicHexOf(ephemeral.publicKey);
  const boxes: Record<string, string> = {};
  for (const [recipient, { key, bytes }] of messages) {
    const secret = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: key });
    const cipher = createCipheriv(
      "aes-256-gcm",
      boxKey(secret, ephemeralHex, context, recipient),
      ZERO_NONCE,
    );
    boxes[recipient] = Buffer.concat([cipher.update(bytes), cipher.final(), cipher.getAuthTag()]).toString(
      "base64",
    );
  }
  return { key: ephemeralHex, boxes };
}

/** Opens the box sealed for `recipient`. @throws {Error} when it is missing, altered or not for this key. */
export function openBox(context: string, sealed: SealedBoxes, recipient: string, key: KeyObject): Uint8Array {
  const box = sealed.boxes[recipient];
  if (box === undefined) throw new Error(`no box for ${recipient}`);
  const bytes = Buffer.from(box, "base64");
  if (bytes.length < TAG_BYTES) throw new Error(`the box for ${recipient} is truncated`);
  const secret = diffieHellman({ privateKey: key, publicKey: publicKeyFromHex("x25519", sealed.key) });
  const decipher = createDecipheriv(
    "aes-256-gcm",
    boxKey(secret, sealed.key, context, recipient),
    ZERO_NONCE,
  );
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error(
      `the box for ${recipient} does not open with its key: altered, or sealed for another job`,
    );
  }
}

const TAG_BYTES = 16;
const ZERO_NONCE = Buffer.alloc(12);

function boxKey(secret: Buffer, ephemeralHex: string, context: string, recipient: string): Buffer {
  return Buffer.from(
    hkdfSync(
      "sha256",
      secret,
      Buffer.from(ephemeralHex, "hex"),
      `snippet-box-v1|${context}|${recipient}`,
      32,
    ),
  );
}

function hexOf(base64url: string): string {
  return Buffer.from(base64url, "base64url").toString("hex");
}

function base64urlOf(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64url");
}
