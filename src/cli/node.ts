/**
 * `snippet node` and `snippet node-config`: run one computing node until stopped, and generate a
 * development configuration with keys. Loaded only when these commands run.
 * @module
 */
import pino from "pino";
import type { PartyId } from "../mpc/transport/types.ts";
import { snippetApplication } from "../roles/mpc-node/application.ts";
import { generateNodeConfig, keyPathFor, loadNodeConfig, readNodeKey } from "../roles/mpc-node/config.ts";
import { startNode } from "../roles/mpc-node/node.ts";
import { communityRegistry } from "../sim/mpc-engines.ts";
import { loadScenario } from "./scenarios.ts";

/** Options of `snippet node`. */
export interface NodeCommandOptions {
  config: string;
  party: PartyId;
  key?: string;
  delayMs?: number;
}

/**
 * Runs one node until SIGINT or SIGTERM. Refuses at start a key file others can read, or one that is
 * not the key of the party's certificate. A peer that dies or stalls stops it with an error naming
 * the peer. Logs go to stderr as JSON lines.
 */
export async function runNodeCommand(options: NodeCommandOptions): Promise<void> {
  const config = await loadNodeConfig(options.config);
  const privateKeyPem = readNodeKey(
    config,
    options.party,
    options.key ?? keyPathFor(options.config, options.party),
  );
  const logger = pino({ base: { party: options.party } }, pino.destination(2));
  const node = await startNode({
    config,
    party: options.party,
    application: snippetApplication(options.party, config.registry),
    privateKeyPem,
    limits: config.limits,
    ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
    log: (event) => logger.info(event),
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
