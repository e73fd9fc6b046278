/**
 * `snippet node` and `snippet node-config`: run one computing node until stopped, and generate a
 * development configuration with keys. Loaded only when these commands run.
 * @module
 */
import { mkdir, readFile } from "node:fs/promises";
import pino from "pino";
import type { PartyId } from "../mpc/transport/types.ts";
import { writeRegistry } from "../private/registry.ts";
import { snippetApplication } from "../roles/mpc-node/application.ts";
import { generateNodeConfig, keyPathFor, loadNodeConfig } from "../roles/mpc-node/config.ts";
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
 * Runs one node until SIGINT or SIGTERM. A peer that dies or stalls stops it with an error naming
 * the peer. Logs go to stderr as JSON lines.
 */
export async function runNodeCommand(options: NodeCommandOptions): Promise<void> {
  const config = await loadNodeConfig(options.config);
  const privateKeyPem = await readFile(options.key ?? keyPathFor(options.config, options.party), "utf8");
  const logger = pino({ base: { party: options.party } }, pino.destination(2));
  const node = await startNode({
    config,
    party: options.party,
    application: snippetApplication(options.party, config.registry),
    privateKeyPem,
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
 * Writes a development configuration and keys; with a scenario, also a registry of its households'
 * meters and the parties, with their private keys beside it (what `simulate --engine mpc --nodes`
 * signs and seals with). @returns the configuration's path.
 */
export async function runNodeConfigCommand(options: {
  out: string;
  host: string;
  basePort: number;
  scenario?: string;
}): Promise<string> {
  let registry: string | undefined;
  if (options.scenario !== undefined) {
    await mkdir(options.out, { recursive: true });
    registry = await writeRegistry(options.out, communityRegistry(loadScenario(options.scenario)));
  }
  return generateNodeConfig(options.out, {
    host: options.host,
    basePort: options.basePort,
    ...(registry === undefined ? {} : { registry }),
  });
}
