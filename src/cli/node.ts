/**
 * `snippet node` and `snippet node-config`: run one computing node until stopped, and generate a
 * development configuration with keys. Loaded only when these commands run.
 * @module
 */
import pino from "pino";
import { certificateFingerprint } from "../mpc/transport/peers.ts";
import type { PartyId } from "../mpc/transport/types.ts";
import { snippetApplication } from "../roles/mpc-node/application.ts";
import {
  generateNodeConfig,
  keyPathFor,
  loadNodeConfig,
  readNodeKey,
  readOwnLedgerKey,
  storePathFor,
} from "../roles/mpc-node/config.ts";
import { openNodeJournal } from "../roles/mpc-node/journal.ts";
import { startNode } from "../roles/mpc-node/node.ts";
import { DEFAULT_COMPACTION } from "../roles/mpc-node/node-state.ts";
import { relaunchWithNodeRuntime } from "../roles/mpc-node/runtime.ts";
import { communityRegistry } from "../sim/mpc-engines.ts";
import { loadScenario } from "../sim/scenarios.ts";
import { redactPassword } from "../store/postgres.ts";

/** Options of `snippet node`. */
export interface NodeCommandOptions {
  config: string;
  party: PartyId;
  key?: string;
  /** Where the node keeps its state: a PGlite folder, a PostgreSQL URL, or `memory`. */
  store?: string;
  /** Compact the store once this many MB were written since its last snapshot (and at least its size). */
  compactAfterMb?: number;
  /** Serve the health endpoint on this port of `healthHost` (0: any free port). */
  healthPort?: number;
  healthHost?: string;
  delayMs?: number;
}

/**
 * Runs one node until SIGINT or SIGTERM, in a process with the node's runtime settings (relaunched
 * with them if it was started without). Refuses at start a key file others can read, or one that
 * is not the key of the party's certificate, and a store that holds another node's state. A lost
 * peer does not stop it: it joins the other two again once the peer is back. Logs go to stderr as
 * JSON lines.
 */
export async function runNodeCommand(options: NodeCommandOptions): Promise<void> {
  // Checked here, so that a bad configuration or key is reported before any relaunch.
  const config = await loadNodeConfig(options.config);
  const keyPath = options.key ?? keyPathFor(options.config, options.party);
  const privateKeyPem = readNodeKey(config, options.party, keyPath);
  const relaunched = relaunchWithNodeRuntime(nodeArguments({ ...options, key: keyPath }));
  if (relaunched !== undefined) {
    process.exitCode = await relaunched;
    return;
  }
  const ledgerKey = await readOwnLedgerKey(config, options.party, keyPath);
  const own = config.nodes[options.party];
  const store = options.store ?? storePathFor(options.config, options.party);
  const journal = await openNodeJournal(store, `${own.name} ${certificateFingerprint(own.certificatePem)}`);
  const logger = pino({ base: { party: options.party } }, pino.destination(2));
  const node = await startNode({
    config,
    party: options.party,
    application: (recorder) => snippetApplication(options.party, config.registry, recorder, ledgerKey),
    journal,
    privateKeyPem,
    limits: config.limits,
    compaction: {
      ...DEFAULT_COMPACTION,
      ...(options.compactAfterMb === undefined ? {} : { minAppendedBytes: options.compactAfterMb * 2 ** 20 }),
    },
    ...(options.healthPort === undefined
      ? {}
      : { health: { host: options.healthHost ?? "127.0.0.1", port: options.healthPort } }),
    ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
    log: (event) => logger.info(event),
  });
  logger.info({
    event: "listening",
    clientPort: node.clientPort,
    ...(node.healthPort === undefined ? {} : { healthPort: node.healthPort }),
    store: redactPassword(store),
  });
  const stop = () => void node.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await node.stopped;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    logger.flush();
  }
}

/** The command line of `snippet node` with these options. */
function nodeArguments(options: NodeCommandOptions): string[] {
  const optional = (flag: string, value: string | number | undefined) =>
    value === undefined ? [] : [flag, String(value)];
  return [
    "node",
    "--config",
    options.config,
    "--party",
    String(options.party),
    ...optional("--key", options.key),
    ...optional("--store", options.store),
    ...optional("--compact-after-mb", options.compactAfterMb),
    ...optional("--health-port", options.healthPort),
    ...optional("--health-host", options.healthHost),
    ...optional("--delay-ms", options.delayMs),
  ];
}

/**
 * Writes a development configuration and keys, refusing a folder that already holds them; with a
 * scenario, also a registry of its households' meters and the parties, with their private keys beside
 * it (what `simulate --engine mpc --nodes` signs and seals with). @returns the configuration's path.
 */
export async function runNodeConfigCommand(options: {
  out: string;
  host: string;
  basePort: number;
  timeoutMs?: number;
  scenario?: string;
}): Promise<string> {
  return generateNodeConfig(options.out, {
    host: options.host,
    basePort: options.basePort,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.scenario === undefined
      ? {}
      : { registry: communityRegistry(loadScenario(options.scenario)) }),
  });
}
