/**
 * The computing nodes' configuration: a JSON file naming each of the three nodes, where it listens and
 * its certificate (a path relative to the file) and the address of its ledger signing key, loaded with
 * the certificates' PEM text; its assembly from the three operators' public descriptions; and a dev
 * generator of all three nodes' keys and the file at once.
 * @module
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import type { Address, Hex } from "viem";
import { z } from "zod";
import { certificateFingerprint, describeNode, type MeshNode } from "../../mpc/transport/peers.ts";
import { PARTIES, type PartyId } from "../../mpc/transport/types.ts";
import type { GeneratedRegistry, Registry } from "../../private/registry.ts";
import {
  idField,
  integerField,
  parseJsonText,
  parseWith,
  ValidationError,
  type ValidationIssue,
} from "../../validation/index.ts";
import {
  assertAbsent,
  certificateFileFor,
  filesToWrite,
  generateNodeKey,
  hostField,
  ledgerAddressField,
  type NodePublicDescription,
  nodeKeyFiles,
  portField,
  readNodePublicDescription,
  readPrivateKeyFile,
  reasonOf,
  writeNewFile,
} from "./keys.ts";
import { type ClientLimits, type ClientLimitsFile, clientLimits, clientLimitsSchema } from "./limits.ts";

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
  /** What one client may cost each node. */
  readonly limits: ClientLimits;
}

const nodeEntrySchema = z.strictObject(
  {
    name: idField,
    host: hostField,
    port: portField,
    clientPort: portField,
    certificate: z
      .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a certificate path` })
      .min(1, { error: () => "is an empty certificate path" }),
    ledgerAddress: ledgerAddressField.optional(),
  },
  { error: (issue) => (issue.code === "invalid_type" ? "is not a node object" : undefined) },
);

const nodeConfigFileSchema = z.strictObject({
  nodes: z.array(nodeEntrySchema, { error: () => "is not a list of nodes" }).length(3, {
    error: (issue) => `lists ${lengthOf(issue.input)} nodes; it must list exactly 3, one per party`,
  }),
  timeoutMs: integerField(1, 3_600_000, "not a positive timeout", "above one hour"),
  /** Per-client limits of the client ports, where they differ from the defaults. */
  limits: clientLimitsSchema.optional(),
  /** The registry file of meters and parties, relative to this file. */
  registry: z
    .string({ error: () => "is not a registry path" })
    .min(1, { error: () => "is an empty registry path" })
    .optional(),
});

/** The node configuration file as written, with certificate paths. */
export type NodeConfigFile = z.infer<typeof nodeConfigFileSchema>;

/** The configuration's file name in the folders {@link assembleNodeConfig} writes. */
const CONFIG_FILE = "nodes.json";

/** The network timeout a configuration gets unless told otherwise. */
const DEFAULT_TIMEOUT_MS = 10_000;

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
  const issues: ValidationIssue[] = [];
  const fingerprints: (string | undefined)[] = [];
  const nodes = file.nodes.map((entry, index): NodeDescription => {
    const certificatePath = resolve(folder, entry.certificate);
    let certificatePem: string;
    try {
      certificatePem = readFileSync(certificatePath, "utf8");
    } catch (error) {
      issues.push({
        path: `nodes[${index}].certificate`,
        message: `cannot read ${certificatePath} (${reasonOf(error)})`,
      });
      return describe(entry, "");
    }
    try {
      fingerprints[index] = certificateFingerprint(certificatePem);
    } catch (error) {
      issues.push({
        path: `nodes[${index}].certificate`,
        message: `${certificatePath} is not a PEM X.509 certificate (${reasonOf(error)})`,
      });
    }
    return describe(entry, certificatePem);
  });
  issues.push(
    ...identityClashes(
      file.nodes.map((entry, index) => ({ ...entry, fingerprint: fingerprints[index] })),
      (index) => `nodes[${index}]`,
      (index, field) => `nodes[${index}].${field}`,
    ),
  );
  if (issues.length > 0) {
    issues.sort((a, b) => a.path.localeCompare(b.path));
    throw new ValidationError(issues);
  }
  const [node0, node1, node2] = nodes as [NodeDescription, NodeDescription, NodeDescription];
  const config = {
    nodes: [node0, node1, node2] as const,
    timeoutMs: file.timeoutMs,
    limits: clientLimits(file.limits),
  };
  if (file.registry === undefined) return config;
  const registryPath = resolve(folder, file.registry);
  return { ...config, registry: await loadRegistryAt(registryPath), registryPath };
}

/**
 * Loads a registry file, its issues named under the file. Its module is loaded only here: a client of
 * nodes without a registry (`snippet clear`) never parses its schema.
 */
async function loadRegistryAt(registryPath: string): Promise<Registry> {
  const { loadRegistry } = await import("../../private/registry.ts");
  try {
    return loadRegistry(registryPath);
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

/** What no two nodes may share, as {@link identityClashes} compares them. */
interface NodeIdentityParts {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly clientPort: number;
  /** Absent when the certificate could not be read (reported apart). */
  readonly fingerprint?: string | undefined;
  readonly ledgerAddress?: string | undefined;
}

/**
 * Where nodes would be mistaken for one another: two with one name, one address (host and mesh or
 * client port), one certificate or one ledger key. Each clash is reported at the later node.
 * @param who names a node in a message (`nodes[0]`); `at` names its field as an issue's path.
 */
function identityClashes(
  nodes: readonly NodeIdentityParts[],
  who: (index: number) => string,
  at: (index: number, field: string) => string,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  /** What each name, address, certificate and ledger key was first seen as: `nodes[0]'s port`. */
  const firstSeen = new Map<string, string>();
  const check = (key: string, index: number, field: string, message: (first: string) => string) => {
    const first = firstSeen.get(key);
    if (first === undefined) firstSeen.set(key, `${who(index)}'s ${field}`);
    else issues.push({ path: at(index, field), message: message(first) });
  };
  nodes.forEach((node, index) => {
    check(`name ${node.name}`, index, "name", (first) => `"${node.name}" is also ${first}`);
    for (const field of ["port", "clientPort"] as const) {
      const address = `${node.host}:${node[field]}`;
      check(`address ${address}`, index, field, (first) => `${address} is also ${first}`);
    }
    if (node.fingerprint !== undefined)
      check(
        `certificate ${node.fingerprint}`,
        index,
        "certificate",
        (first) => `is the same certificate as ${first}: every node needs its own`,
      );
    if (node.ledgerAddress !== undefined)
      check(
        `ledger ${node.ledgerAddress.toLowerCase()}`,
        index,
        "ledgerAddress",
        (first) => `${node.ledgerAddress} is also ${first}: every node needs its own ledger key`,
      );
  });
  return issues;
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

/** The files of a party's material in a development folder, as {@link generateNodeConfig} names them: `node-<party>.…`. */
function devKeyFiles(configPath: string, party: PartyId) {
  return nodeKeyFiles(dirname(configPath), `node-${party}`);
}

/** Where a party's ledger signing key (secp256k1, hex) lives by convention: beside the configuration file. */
export function ledgerKeyPathFor(configPath: string, party: PartyId): string {
  return devKeyFiles(configPath, party).ledgerKey;
}

/** Where a party's store lives by default: the PGlite folder `node-<party>.store` beside the configuration file. */
export function storePathFor(configPath: string, party: PartyId): string {
  return join(dirname(configPath), `node-${party}.store`);
}

/** Where a party's private key lives by convention: `node-<party>.key.pem` beside the configuration file. */
export function keyPathFor(configPath: string, party: PartyId): string {
  return devKeyFiles(configPath, party).key;
}

/**
 * The nodes' ledger signing keys, by party, from beside the configuration file, each checked against
 * the address the configuration lists for it. Only a development setup holds all three; each is read
 * only if its owner alone can read it. viem is loaded only here: importing it takes ~300 ms, which
 * every client of the nodes would pay for a check only the ledger needs.
 * @throws {ValidationError} naming a missing, exposed or mismatched key.
 */
export async function loadLedgerKeys(configPath: string, config: NodeConfig): Promise<Hex[]> {
  const check = await ledgerKeyChecker();
  return PARTIES.map((party) => check(config, party, ledgerKeyPathFor(configPath, party)));
}

/**
 * A node's own ledger key: `<stem>.ledger.key` beside its TLS key `<stem>.key.pem`, as `node-key` and
 * `node-config` write them, checked like {@link loadLedgerKeys} checks them. Undefined when there is
 * no such file: the node then neither opens households' lines nor signs postings.
 * @throws {ValidationError} naming an exposed key or one that is not the listed address's.
 */
export async function readOwnLedgerKey(
  config: NodeConfig,
  party: PartyId,
  keyPath: string,
): Promise<Hex | undefined> {
  const path = keyPath.endsWith(".key.pem")
    ? `${keyPath.slice(0, -".key.pem".length)}.ledger.key`
    : undefined;
  if (path === undefined || !existsSync(path)) return undefined;
  return (await ledgerKeyChecker())(config, party, path);
}

/** Reads a party's ledger key file and checks it is the key of the address the configuration lists. */
async function ledgerKeyChecker(): Promise<(config: NodeConfig, party: PartyId, path: string) => Hex> {
  // viem/accounts alone: a node starting reads its key with it, and all of viem takes half a second.
  const { privateKeyToAddress } = await import("viem/accounts");
  return (config, party, path) => {
    const listed = config.nodes[party].ledgerAddress;
    const key = readPrivateKeyFile(path, `nodes[${party}].ledgerAddress`).trim();
    if (
      !/^0x[0-9a-fA-F]{64}$/.test(key) ||
      listed === undefined ||
      privateKeyToAddress(key as Hex).toLowerCase() !== listed.toLowerCase()
    )
      throw new ValidationError([
        {
          path: `nodes[${party}].ledgerAddress`,
          message: `${path} holds no key of the listed address ${listed ?? "(none)"}`,
        },
      ]);
    return key as Hex;
  };
}

/**
 * Reads a node's TLS private key, only if its owner alone can read it, and checks that it is the key
 * of the certificate the configuration lists for `party`: a wrong key or party is named at start,
 * not left to fail the other nodes' handshakes.
 * @throws {ValidationError} naming the key file.
 */
export function readNodeKey(config: NodeConfig, party: PartyId, keyPath: string): string {
  const pem = readPrivateKeyFile(keyPath);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new ValidationError([{ path: keyPath, message: `is not a PEM private key (${reasonOf(error)})` }]);
  }
  if (!new X509Certificate(config.nodes[party].certificatePem).checkPrivateKey(key))
    throw new ValidationError([
      {
        path: keyPath,
        message: `is not the key of ${describeNode(config, party)}'s certificate: is it this node's key, and the right party?`,
      },
    ]);
  return pem;
}

/** Options of {@link assembleNodeConfig}. */
export interface AssembleNodeConfigOptions {
  /** The nodes' network timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** The registry file the nodes serve from; `nodes.json` names it relative to itself. */
  readonly registry?: string;
  /** Per-client limits where they differ from the defaults. */
  readonly limits?: ClientLimitsFile;
}

/**
 * Writes `nodes.json` in `folder` from the three nodes' public descriptions, in party order, with each
 * certificate beside it as `<stem>.crt.pem` (`alpha.public.json` → `alpha.crt.pem`). Every operator
 * runs their node from a copy of the same folder. A file already there is kept if it holds exactly
 * what would be written; otherwise nothing is written.
 * @returns the configuration file's path.
 * @throws {@link ValidationError} naming each bad file and field, nodes that clash (name, address,
 * certificate, ledger key), and every existing file that differs.
 */
export async function assembleNodeConfig(
  folder: string,
  descriptionPaths: readonly string[],
  options: AssembleNodeConfigOptions = {},
): Promise<string> {
  if (descriptionPaths.length !== PARTIES.length)
    throw new ValidationError([
      {
        path: "(public descriptions)",
        message: `${descriptionPaths.length} given; a configuration takes 3, one per node in party order 0, 1, 2`,
      },
    ]);
  const issues: ValidationIssue[] = [];
  const descriptions: NodePublicDescription[] = [];
  for (const path of descriptionPaths) {
    try {
      descriptions.push(readNodePublicDescription(path));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  const nodes = descriptions.map((description, index) => ({
    ...description,
    fingerprint: certificateFingerprint(description.certificate),
    certificateFile: certificateFileFor(descriptionPaths[index] as string),
  }));
  const who = (index: number) => descriptionPaths[index] as string;
  issues.push(...identityClashes(nodes, who, (index, field) => `${who(index)}: ${field}`));
  nodes.forEach((node, index) => {
    const other = nodes.findIndex((candidate) => candidate.certificateFile === node.certificateFile);
    if (other < index)
      issues.push({
        path: who(index),
        message: `would write its certificate to ${node.certificateFile}, as ${who(other)} does: rename one of them`,
      });
  });
  if (issues.length > 0) throw new ValidationError(issues);
  const configPath = join(folder, CONFIG_FILE);
  if (options.registry !== undefined) await loadRegistryAt(resolve(options.registry));
  const file = parseWith(nodeConfigFileSchema, {
    nodes: nodes.map((node) => ({
      name: node.name,
      host: node.host,
      port: node.port,
      clientPort: node.clientPort,
      certificate: node.certificateFile,
      ledgerAddress: node.ledgerAddress,
    })),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.registry === undefined ? {} : { registry: relative(folder, resolve(options.registry)) }),
  } satisfies NodeConfigFile);
  const toWrite = filesToWrite([
    ...nodes.map((node) => ({ path: join(folder, node.certificateFile), text: node.certificate })),
    { path: configPath, text: `${JSON.stringify(file, null, 2)}\n` },
  ]);
  await mkdir(folder, { recursive: true });
  for (const { path, text } of toWrite) await writeNewFile(path, text);
  return configPath;
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
  /** A registry of meters and parties the nodes serve from, written beside the configuration. */
  readonly registry?: GeneratedRegistry;
  /** Per-client limits where they differ from the defaults. */
  readonly limits?: ClientLimitsFile;
}

/** The node names {@link generateNodeConfig} gives. */
const GENERATED_NAMES = ["node-a", "node-b", "node-c"] as const;

/**
 * For development and tests: what the three operators would do, in one folder — each node's material
 * as {@link generateNodeKey} makes it, named by party (`node-<i>.key.pem`, `.crt.pem`, `.ledger.key`,
 * `.public.json`), and `nodes.json` assembled from them ({@link assembleNodeConfig}), with the
 * registry (`registry.json`) if one is given. Refuses a folder that already holds any of these keys
 * or a `nodes.json`, before writing anything.
 * @returns the configuration file's path.
 */
export async function generateNodeConfig(
  folder: string,
  options: GenerateNodeConfigOptions,
): Promise<string> {
  const configPath = join(folder, CONFIG_FILE);
  const files = PARTIES.map((party) => devKeyFiles(configPath, party));
  assertAbsent([...files.flatMap((party) => Object.values(party)), configPath]);
  // The keys first: a bad host or port stops the generation before the registry is written.
  const written = await Promise.all(
    PARTIES.map((party) =>
      generateNodeKey(
        folder,
        {
          name: GENERATED_NAMES[party],
          host: options.host,
          port: options.ports?.[party] ?? options.basePort + party,
          clientPort: options.clientPorts?.[party] ?? options.basePort + 3 + party,
        },
        `node-${party}`,
      ),
    ),
  );
  const registry =
    options.registry === undefined
      ? undefined
      : join(
          folder,
          await (await import("../../private/registry.ts")).writeRegistry(folder, options.registry),
        );
  return assembleNodeConfig(
    folder,
    written.map((party) => party.description),
    {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(registry === undefined ? {} : { registry }),
    },
  );
}
