/**
 * The computing nodes' configuration: a JSON file naming each of the three nodes, where it listens and
 * its certificate (a path relative to the file) and the address of its ledger signing key, loaded with
 * the certificates' PEM text; and a dev generator of self-signed ECDSA P-256 certificates, keys,
 * secp256k1 ledger keys and the file.
 * @module
 */
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { dirname, join, resolve } from "node:path";
import { type Address, getAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { certificateFingerprint, type MeshNode } from "../../mpc/transport/peers.ts";
import { PARTIES, type PartyId } from "../../mpc/transport/types.ts";
import type { Registry } from "../../private/registry.ts";
import { idField, integerField, parseJsonText, parseWith, ValidationError } from "../../validation/index.ts";

/** One computing node as the others and its clients see it. */
export interface NodeDescription extends MeshNode {
  /** The port clients (job submitters) connect to, on the same host. */
  readonly clientPort: number;
  /** The address of the secp256k1 key the node signs the ledger's postings with, when it has one. */
  readonly ledgerAddress?: Address;
}

/** The three nodes, by party index, the network timeout, and the registry they serve from. */
export interface NodeConfig {
  readonly nodes: readonly [NodeDescription, NodeDescription, NodeDescription];
  /** How long setup may take and how long a receive waits, in milliseconds. */
  readonly timeoutMs: number;
  /** Meters and parties; without it the nodes run only programs on a client's own inputs. */
  readonly registry?: Registry;
  /** Where the registry file is, for the development tools that keep its keys beside it. */
  readonly registryPath?: string;
}

const portField = integerField(1, 65535, "not a TCP port (1..65535)", "not a TCP port (1..65535)");

const nodeEntrySchema = z.strictObject(
  {
    name: idField,
    host: z
      .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a host name string` })
      .min(1, { error: () => "is an empty host name" }),
    port: portField,
    clientPort: portField,
    certificate: z
      .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a certificate path` })
      .min(1, { error: () => "is an empty certificate path" }),
    ledgerAddress: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, { error: () => "is not an address (0x and 40 hex digits)" })
      .optional(),
  },
  { error: (issue) => (issue.code === "invalid_type" ? "is not a node object" : undefined) },
);

const nodeConfigFileSchema = z.strictObject({
  nodes: z.array(nodeEntrySchema, { error: () => "is not a list of nodes" }).length(3, {
    error: (issue) => `lists ${lengthOf(issue.input)} nodes; it must list exactly 3, one per party`,
  }),
  timeoutMs: integerField(1, 3_600_000, "not a positive timeout", "above one hour"),
  /** The registry file of meters and parties, relative to this file. */
  registry: z
    .string({ error: () => "is not a registry path" })
    .min(1, { error: () => "is an empty registry path" })
    .optional(),
});

/** The node configuration file as written, with certificate paths. */
export type NodeConfigFile = z.infer<typeof nodeConfigFileSchema>;

function lengthOf(input: unknown): string {
  return Array.isArray(input) ? String(input.length) : "some";
}

/**
 * Reads and checks a node configuration file and the certificates it names. The few small files are
 * read synchronously: a client that dials the nodes while it parses its request then has its
 * connections under way at once, not after several turns of the event loop it keeps busy.
 * @throws {@link ValidationError} naming each bad field, such as `nodes[1].certificate: cannot read …`.
 */
export async function loadNodeConfig(configPath: string): Promise<NodeConfig> {
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (error) {
    throw new ValidationError([
      { path: "(input)", message: `cannot read ${configPath} (${reasonOf(error)})` },
    ]);
  }
  const file = parseWith(nodeConfigFileSchema, parseJsonText(text));
  const folder = dirname(resolve(configPath));
  const issues: { path: string; message: string }[] = [];
  const fingerprints = new Map<string, number>();
  const addresses = new Map<string, string>();
  const names = new Map<string, number>();
  // Read at once; checked in order below, so a duplicate is always reported at the later node.
  const certificatePaths = file.nodes.map((entry) => resolve(folder, entry.certificate));
  const readings = certificatePaths.map((path): PromiseSettledResult<string> => {
    try {
      return { status: "fulfilled", value: readFileSync(path, "utf8") };
    } catch (reason) {
      return { status: "rejected", reason };
    }
  });
  const nodes = file.nodes.map((entry, index): NodeDescription => {
    const certificatePath = certificatePaths[index] as string;
    const reading = readings[index] as PromiseSettledResult<string>;
    if (reading.status === "rejected") {
      issues.push({
        path: `nodes[${index}].certificate`,
        message: `cannot read ${certificatePath} (${reasonOf(reading.reason)})`,
      });
      return describe(entry, "");
    }
    const certificatePem = reading.value;
    try {
      const fingerprint = certificateFingerprint(certificatePem);
      const other = fingerprints.get(fingerprint);
      if (other !== undefined) {
        issues.push({
          path: `nodes[${index}].certificate`,
          message: `is the same certificate as nodes[${other}]: every node needs its own`,
        });
      }
      fingerprints.set(fingerprint, index);
    } catch (error) {
      issues.push({
        path: `nodes[${index}].certificate`,
        message: `${certificatePath} is not a PEM X.509 certificate (${reasonOf(error)})`,
      });
    }
    return describe(entry, certificatePem);
  });
  file.nodes.forEach((entry, index) => {
    for (const field of ["port", "clientPort"] as const) {
      const address = `${entry.host}:${entry[field]}`;
      const here = `nodes[${index}].${field}`;
      const other = addresses.get(address);
      if (other !== undefined) issues.push({ path: here, message: `${address} is also ${other}` });
      else addresses.set(address, here);
    }
    const sameName = names.get(entry.name);
    if (sameName !== undefined) {
      issues.push({
        path: `nodes[${index}].name`,
        message: `"${entry.name}" is also nodes[${sameName}]'s name`,
      });
    }
    names.set(entry.name, index);
  });
  if (issues.length > 0) {
    issues.sort((a, b) => a.path.localeCompare(b.path));
    throw new ValidationError(issues);
  }
  const [node0, node1, node2] = nodes as [NodeDescription, NodeDescription, NodeDescription];
  const config = { nodes: [node0, node1, node2] as const, timeoutMs: file.timeoutMs };
  if (file.registry === undefined) return config;
  const registryPath = resolve(folder, file.registry);
  // Loaded only here: a client of nodes without a registry (`snippet clear`) never parses its schema.
  const { loadRegistry } = await import("../../private/registry.ts");
  try {
    return { ...config, registry: loadRegistry(registryPath), registryPath };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(
      error.issues.map((issue) => ({
        path: `registry ${registryPath}: ${issue.path}`,
        message: issue.message,
      })),
    );
  }
}

function describe(entry: NodeConfigFile["nodes"][number], certificatePem: string): NodeDescription {
  return {
    name: entry.name,
    host: entry.host,
    port: entry.port,
    clientPort: entry.clientPort,
    certificatePem,
    ...(entry.ledgerAddress === undefined ? {} : { ledgerAddress: entry.ledgerAddress as Address }),
  };
}

/** Where a party's ledger signing key (secp256k1, hex) lives by convention: beside the configuration file. */
export function ledgerKeyPathFor(configPath: string, party: PartyId): string {
  return join(dirname(configPath), `node-${party}.ledger.key`);
}

/**
 * The nodes' ledger signing keys, by party, from beside the configuration file, each checked against
 * the address the configuration lists for it.
 * @throws {ValidationError} naming a missing or mismatched key.
 */
export function loadLedgerKeys(configPath: string, config: NodeConfig): Hex[] {
  return PARTIES.map((party) => {
    const path = ledgerKeyPathFor(configPath, party);
    const listed = config.nodes[party].ledgerAddress;
    let key: string;
    try {
      key = readFileSync(path, "utf8").trim();
    } catch (error) {
      throw new ValidationError([
        { path: `nodes[${party}].ledgerAddress`, message: `cannot read ${path} (${reasonOf(error)})` },
      ]);
    }
    if (
      !/^0x[0-9a-fA-F]{64}$/.test(key) ||
      listed === undefined ||
      privateKeyToAccount(key as Hex).address !== getAddress(listed)
    )
      throw new ValidationError([
        {
          path: `nodes[${party}].ledgerAddress`,
          message: `${path} holds no key of the listed address ${listed ?? "(none)"}`,
        },
      ]);
    return key as Hex;
  });
}

/** Where a party's private key lives by convention: `node-<party>.key.pem` beside the configuration file. */
export function keyPathFor(configPath: string, party: PartyId): string {
  return join(dirname(configPath), `node-${party}.key.pem`);
}

/** Where a party's certificate lives by convention, as {@link generateNodeConfig} writes it. */
export function certificatePathFor(configPath: string, party: PartyId): string {
  return join(dirname(configPath), `node-${party}.crt.pem`);
}

/** Options of {@link generateNodeConfig}. */
export interface GenerateNodeConfigOptions {
  /** The host every node listens on, such as `127.0.0.1`. */
  readonly host: string;
  /** Party i listens for nodes on `basePort + i` and for clients on `basePort + 3 + i`, unless `ports` / `clientPorts` are given. */
  readonly basePort: number;
  /** Explicit node ports per party (tests pick free ones). */
  readonly ports?: readonly [number, number, number];
  /** Explicit client ports per party. */
  readonly clientPorts?: readonly [number, number, number];
  readonly timeoutMs?: number;
  /** The registry file the nodes serve from, relative to the folder. */
  readonly registry?: string;
}

/** The node names {@link generateNodeConfig} gives. */
const GENERATED_NAMES = ["node-a", "node-b", "node-c"] as const;

type X509Module = typeof import("@peculiar/x509");
/** The generator's parameters; the WebCrypto types it names are DOM globals this project does not load. */
type SelfSignedParams = Parameters<X509Module["X509CertificateGenerator"]["createSelfSigned"]>[0];

/**
 * Loads `@peculiar/x509` on demand (only the dev generator needs it). Its dependency tsyringe needs
 * the Reflect metadata polyfill loaded first.
 */
async function loadX509(): Promise<X509Module> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<X509Module["cryptoProvider"]["set"]>[0]);
  return x509;
}

const SIGNING_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/**
 * For development and tests: creates a self-signed ECDSA P-256 certificate and key per party in
 * `folder` (`node-<i>.crt.pem`, `node-<i>.key.pem` readable by the owner only), a secp256k1 ledger
 * signing key per party (`node-<i>.ledger.key`, owner only) and `nodes.json`.
 * @returns the configuration file's path.
 */
export async function generateNodeConfig(
  folder: string,
  options: GenerateNodeConfigOptions,
): Promise<string> {
  const x509 = await loadX509();
  await mkdir(folder, { recursive: true });
  const configPath = join(folder, "nodes.json");
  const nodes: NodeConfigFile["nodes"] = [];
  for (const party of PARTIES) {
    const name = GENERATED_NAMES[party];
    const keys = (await webcrypto.subtle.generateKey(SIGNING_ALGORITHM, true, [
      "sign",
      "verify",
    ])) as unknown as SelfSignedParams["keys"];
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=${name}`,
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      notBefore: new Date(now - 24 * 3600 * 1000),
      notAfter: new Date(now + 10 * 365 * 24 * 3600 * 1000),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([
          { type: isIP(options.host) === 0 ? "dns" : "ip", value: options.host },
        ]),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey(
      "pkcs8",
      keys.privateKey as unknown as webcrypto.CryptoKey,
    );
    const keyPath = keyPathFor(configPath, party);
    await writeFile(keyPath, x509.PemConverter.encode(pkcs8, "PRIVATE KEY"), { mode: 0o600 });
    // The mode above applies only when the file is created; an existing key file is tightened too.
    await chmod(keyPath, 0o600);
    const certificatePath = certificatePathFor(configPath, party);
    await writeFile(certificatePath, certificate.toString("pem"));
    const ledgerKey = generatePrivateKey();
    await writeFile(ledgerKeyPathFor(configPath, party), `${ledgerKey}\n`, { mode: 0o600 });
    await chmod(ledgerKeyPathFor(configPath, party), 0o600);
    nodes.push({
      name,
      host: options.host,
      port: options.ports?.[party] ?? options.basePort + party,
      clientPort: options.clientPorts?.[party] ?? options.basePort + 3 + party,
      certificate: `node-${party}.crt.pem`,
      ledgerAddress: privateKeyToAccount(ledgerKey).address,
    });
  }
  const file: NodeConfigFile = {
    nodes,
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  };
  await writeFile(configPath, `${JSON.stringify(file, null, 2)}\n`);
  return configPath;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error)
    return "code" in error && typeof error.code === "string" ? error.code : error.message;
  return String(error);
}
