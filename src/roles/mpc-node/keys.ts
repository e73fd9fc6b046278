/**
 * One computing node's key material, made by its own operator: a TLS key with its self-signed ECDSA
 * P-256 certificate, a secp256k1 ledger key, and the public description the other operators need.
 * Key files are only ever created, never overwritten, and read only while their owner alone can read them.
 * @module
 */
import { webcrypto } from "node:crypto";
import { closeSync, fstatSync, lstatSync, openSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { basename, join } from "node:path";
import { z } from "zod";
import { certificateFingerprint } from "../../mpc/transport/peers.ts";
import {
  integerField,
  parseJsonText,
  parseWith,
  ValidationError,
  type ValidationIssue,
} from "../../validation/index.ts";

/** A TCP port a node listens on. */
export const portField = integerField(1, 65535, "not a TCP port (1..65535)", "not a TCP port (1..65535)");

/** The host a node listens on, as the others dial it. */
export const hostField = z
  .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a host name string` })
  .min(1, { error: () => "is an empty host name" });

/** The address of a node's ledger signing key. */
export const ledgerAddressField = z
  .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not an address string` })
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: () => "is not an address (0x and 40 hex digits)" });

/** A node's name, which also names its files: `<name>.key.pem` and so on. */
const nodeNameField = z
  .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a node name string` })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    error: (issue) =>
      `${JSON.stringify(issue.input)} is not a node name: it names files, so up to 64 letters, digits, ".", "_" or "-", not starting with a punctuation mark`,
  });

/** A certificate as PEM text: one the other nodes can pin, and nothing secret beside it. */
const certificatePemField = z
  .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not certificate PEM text` })
  .superRefine((pem, context) => {
    // A pasted bundle of key and certificate would hand the node's key to every other operator.
    if (pem.includes("PRIVATE KEY")) {
      context.addIssue({
        code: "custom",
        message: "holds a private key: only the certificate may leave a node",
      });
      return;
    }
    try {
      certificateFingerprint(pem);
    } catch (error) {
      context.addIssue({ code: "custom", message: `is not a PEM X.509 certificate (${reasonOf(error)})` });
    }
  });

const nodeIdentitySchema = z.strictObject(
  { name: nodeNameField, host: hostField, port: portField, clientPort: portField },
  { error: (issue) => (issue.code === "invalid_type" ? "is not a node object" : undefined) },
);

const nodePublicSchema = nodeIdentitySchema.extend({
  certificate: certificatePemField,
  ledgerAddress: ledgerAddressField,
});

/** A node as its operator names it and where it listens: for nodes (`port`) and for clients (`clientPort`). */
export type NodeIdentity = z.infer<typeof nodeIdentitySchema>;

/** What the other operators need of a node, all of it public: its identity, certificate PEM and ledger address. */
export type NodePublicDescription = z.infer<typeof nodePublicSchema>;

/** The files of one node's material in a folder, each named `<stem>.…`. */
export interface NodeKeyFiles {
  /** The TLS private key, PKCS#8 PEM, owner only. */
  readonly key: string;
  /** The self-signed certificate, PEM. */
  readonly certificate: string;
  /** The secp256k1 ledger signing key, hex, owner only. */
  readonly ledgerKey: string;
  /** The {@link NodePublicDescription} as JSON: the one file the other operators get. */
  readonly description: string;
}

/** Where {@link generateNodeKey} writes a node's files: `<stem>.key.pem`, `.crt.pem`, `.ledger.key`, `.public.json`. */
export function nodeKeyFiles(folder: string, stem: string): NodeKeyFiles {
  return {
    key: join(folder, `${stem}.key.pem`),
    certificate: join(folder, `${stem}.crt.pem`),
    ledgerKey: join(folder, `${stem}.ledger.key`),
    description: join(folder, `${stem}.public.json`),
  };
}

/** The file name a public description's certificate is written under beside `nodes.json`: `<stem>.crt.pem`. */
export function certificateFileFor(descriptionPath: string): string {
  return `${basename(descriptionPath).replace(/(\.public)?\.json$/, "")}.crt.pem`;
}

type X509Module = typeof import("@peculiar/x509");
/** The generator's parameters; the WebCrypto types it names are DOM globals this project does not load. */
type SelfSignedParams = Parameters<X509Module["X509CertificateGenerator"]["createSelfSigned"]>[0];

/**
 * Loads `@peculiar/x509` on demand (only key generation needs it). Its dependency tsyringe needs
 * the Reflect metadata polyfill loaded first.
 */
async function loadX509(): Promise<X509Module> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<X509Module["cryptoProvider"]["set"]>[0]);
  return x509;
}

const SIGNING_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const DAY_MS = 24 * 3600 * 1000;

/**
 * Creates one node's material in `folder` (made owner-only if new): a TLS key and a self-signed
 * ECDSA P-256 certificate for its host, a secp256k1 ledger key, and its public description; the
 * keys readable by their owner only. Nothing is overwritten: if any of the four files exists, none
 * is written.
 * @param stem names the files; by default the node's name (the development configuration numbers them).
 * @throws {@link ValidationError} naming a bad identity field or every file that already exists.
 */
export async function generateNodeKey(
  folder: string,
  identity: NodeIdentity,
  stem: string = identity.name,
): Promise<NodeKeyFiles> {
  const node = parseWith(nodeIdentitySchema, identity);
  const files = nodeKeyFiles(folder, stem);
  assertAbsent(Object.values(files));
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(SIGNING_ALGORITHM, true, [
    "sign",
    "verify",
  ])) as unknown as SelfSignedParams["keys"];
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${node.name}`,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 10 * 365 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension([
        { type: isIP(node.host) === 0 ? "dns" : "ip", value: node.host },
      ]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey as unknown as webcrypto.CryptoKey);
  // Loaded here: viem takes ~300 ms to import, and only key generation needs it of this module.
  const { generatePrivateKey, privateKeyToAccount } = await import("viem/accounts");
  const ledgerKey = generatePrivateKey();
  const description: NodePublicDescription = {
    ...node,
    certificate: certificate.toString("pem"),
    ledgerAddress: privateKeyToAccount(ledgerKey).address,
  };
  await mkdir(folder, { recursive: true, mode: 0o700 });
  await writeNewFile(files.key, x509.PemConverter.encode(pkcs8, "PRIVATE KEY"), 0o600);
  await writeNewFile(files.ledgerKey, `${ledgerKey}\n`, 0o600);
  await writeNewFile(files.certificate, description.certificate);
  await writeNewFile(files.description, `${JSON.stringify(description, null, 2)}\n`);
  return files;
}

/**
 * Reads and checks a node's public description file.
 * @throws {@link ValidationError} naming the file and each bad field (`/x/b.public.json: port`).
 */
export function readNodePublicDescription(path: string): NodePublicDescription {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ValidationError([{ path, message: `cannot be read (${reasonOf(error)})` }]);
  }
  try {
    return parseWith(nodePublicSchema, parseJsonText(text));
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(
      error.issues.map((issue) => ({
        path: issue.path === "(input)" ? path : `${path}: ${issue.path}`,
        message: issue.message,
      })),
    );
  }
}

/**
 * Reads a private key file, refusing one that its group or others may read or change: a key others
 * can copy no longer identifies its node alone.
 * @param issuePath where an issue is reported, if not at the file; its message then names the file.
 * @throws {@link ValidationError} when the file cannot be read or is open to others (`chmod 600 FILE`).
 */
export function readPrivateKeyFile(path: string, issuePath: string = path): string {
  const which = issuePath === path ? "the key" : path;
  const refuse = (message: string) => new ValidationError([{ path: issuePath, message }]);
  let descriptor: number;
  try {
    descriptor = openSync(path, "r");
  } catch (error) {
    throw refuse(`cannot read ${which} (${reasonOf(error)})`);
  }
  try {
    // The mode of the file opened, not of whatever the path names a moment later.
    const mode = fstatSync(descriptor).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw refuse(
        `${which} is open to its group or others (mode ${mode.toString(8).padStart(4, "0")}); ` +
          `a private key must be its owner's alone: chmod 600 ${path}`,
      );
    return readFileSync(descriptor, "utf8");
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Checks that none of `paths` exists (a dangling link counts as existing).
 * @throws {@link ValidationError} naming every one that does.
 */
export function assertAbsent(paths: readonly string[]): void {
  const existing = paths.filter((path) => lstatSync(path, { throwIfNoEntry: false }) !== undefined);
  if (existing.length > 0) throw new ValidationError(existing.map(existsIssue));
}

/**
 * Of `files`, those that still need writing: each must be absent or already hold exactly its text.
 * @throws {@link ValidationError} naming every file that holds something else, before anything is written.
 */
export function filesToWrite<T extends { readonly path: string; readonly text: string }>(
  files: readonly T[],
): T[] {
  const issues: ValidationIssue[] = [];
  const missing = files.filter((file) => {
    let existing: string;
    try {
      existing = readFileSync(file.path, "utf8");
    } catch (error) {
      if (reasonOf(error) === "ENOENT") return true;
      issues.push({ path: file.path, message: `cannot be read (${reasonOf(error)})` });
      return false;
    }
    if (existing !== file.text) issues.push(existsIssue(file.path));
    return false;
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return missing;
}

/** Creates `path` with `text`; fails rather than replace a file that appeared since it was checked. */
export async function writeNewFile(path: string, text: string, mode?: number): Promise<void> {
  try {
    await writeFile(path, text, { flag: "wx", ...(mode === undefined ? {} : { mode }) });
  } catch (error) {
    if (reasonOf(error) === "EEXIST") throw new ValidationError([existsIssue(path)]);
    throw error;
  }
}

function existsIssue(path: string): ValidationIssue {
  return {
    path,
    message: "already exists and is never overwritten: move it away or write to another folder",
  };
}

/** An I/O error as its code (`ENOENT`), any other error as its message. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error)
    return "code" in error && typeof error.code === "string" ? error.code : error.message;
  return String(error);
}
