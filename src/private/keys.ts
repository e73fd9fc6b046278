/**
 * The keys of meters and parties, on Node's own crypto (OpenSSL): raw 32-byte Ed25519 keys as hex,
 * as a registry lists them, and Ed25519 signatures over canonical JSON.
 * @module
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";

/** A fresh Ed25519 key pair as raw hex: what a registry lists and what its owner keeps. */
export function generateRawKeyPair(): { publicHex: string; privateHex: string } {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { publicHex: hexOf(jwk.x as string), privateHex: hexOf(jwk.d as string) };
}

/** A raw 32-byte Ed25519 public key (hex) as a key object. @throws {TypeError} when it is not a curve point. */
export function publicKeyFromHex(publicHex: string): KeyObject {
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicHex, "hex").toString("base64url") },
    format: "jwk",
  });
}

/** A raw 32-byte Ed25519 private key (hex) as a key object. */
export function privateKeyFromHex(privateHex: string): KeyObject {
  // As PKCS#8 DER (RFC 8410): a JWK would want the public half too.
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(privateHex, "hex")]),
    format: "der",
    type: "pkcs8",
  });
}

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

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

function hexOf(base64url: string): string {
  return Buffer.from(base64url, "base64url").toString("hex");
}

/** A registered party's identity for signing its requests. */
export interface Signer {
  readonly party: string;
  readonly key: KeyObject;
}
