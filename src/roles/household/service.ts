/**
 * `snippet household`: a long-running service that is one household's home device (`--id`), or many
 * homes in one process (`--many`) for demos and load tests, each with its own keys, agent and records,
 * sharing only the process's connections to the broker, the nodes, its store and the home bus. It
 * serves a health endpoint with the homes' progress, logs "ready" once the homes have resumed from
 * their records, and stops gracefully: the step in hand finished and kept, store and bus closed.
 * @module
 */
import { Hono } from "hono";
import { workerSolver } from "../../agents/solver.ts";
import type { Signer } from "../../private/keys.ts";
import { loadRegistryKeys, type Registry, signerOf } from "../../private/registry.ts";
import { type AgentSetup, strategicSetup } from "../../sim/community.ts";
import type { Scenario, ScenarioHousehold } from "../../sim/scenario.ts";
import { loadScenario } from "../../sim/scenarios.ts";
import { ValidationError } from "../../validation/index.ts";
import { BrokerClient } from "../broker/client.ts";
import { loadNodeConfig } from "../mpc-node/config.ts";
import { type Logger, runService, serveHttp, serviceLogger } from "../service.ts";
import { connectMeterBus } from "./bus.ts";
import { type HouseholdsConfig, loadHouseholdsConfig } from "./config.ts";
import { NodeLink } from "./nodes.ts";
import { openHouseholdRecords } from "./records.ts";
import { HouseholdRunner, type RunnerStatus } from "./runner.ts";

/** Which of the config's households a process runs: one home, or all of them. */
export type HomeSelection = { readonly id: string } | { readonly many: true };

/** A running household service. */
export interface HouseholdService {
  readonly healthPort: number;
  /** Lets each home finish its step in hand, keeps what it did, and closes the connections and store. */
  stop(): Promise<void>;
}

/** What the health endpoint reports. */
export interface HouseholdHealth extends RunnerStatus {
  readonly service: "household";
}

/** Runs the service until SIGTERM or SIGINT (`snippet household`). */
export async function runHouseholdService(configPath: string, selection: HomeSelection): Promise<void> {
  const logger = serviceLogger("household");
  await runService(logger, ({ signal }) => startHouseholdService(configPath, selection, logger, signal));
}

/**
 * Starts the homes of `selection` from the config at `configPath`, waiting for the broker while it
 * cannot be reached (until `signal` aborts).
 * @throws {@link ValidationError} naming the bad field of the config, keys or selection;
 * OperationalError when the store cannot be opened, the broker refuses, or the records are not this market's.
 */
export async function startHouseholdService(
  configPath: string,
  selection: HomeSelection,
  logger: Logger,
  signal?: AbortSignal,
): Promise<HouseholdService> {
  const config = loadHouseholdsConfig(configPath);
  const scenario = loadScenario(config.scenario);
  const households = selectHouseholds(configPath, config, scenario, selection);
  const nodeConfig = await loadNodeConfig(config.nodes);
  const registry = registryOf(configPath, nodeConfig.registry, households);
  const signers = signersOf(config, households);
  const closing: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closing.splice(0).reverse()) await close();
  };
  try {
    const agents = await agentSetup(config, closing);
    const records = await openHouseholdRecords(config.store);
    closing.push(() => records.close());
    const bus = connectMeterBus(config.homeBus.url, logger);
    closing.push(() => bus.close());
    const nodes = new NodeLink(nodeConfig, logger);
    closing.push(() => nodes.close());
    const runner = await HouseholdRunner.start(
      {
        scenario,
        households,
        seed: config.seed,
        agents,
        board: new BrokerClient(config.broker),
        nodes,
        registry,
        signers,
        records,
        bus,
        log: logger,
      },
      signal,
    );
    const following = runner.run();
    closing.push(async () => {
      await runner.stop();
      await following;
    });
    const server = await serveHttp(healthApp(runner), config.health);
    closing.push(() => server.close());
    logger.info({ healthPort: server.port, households: households.length }, "ready");
    return { healthPort: server.port, stop: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** `GET /health`: the homes' progress; `GET /health/households/:id`: one home's. */
function healthApp(runner: HouseholdRunner): Hono {
  const app = new Hono();
  app.get("/health", (c) => c.json({ service: "household", ...runner.status() } satisfies HouseholdHealth));
  app.get("/health/households/:id", (c) => {
    const id = c.req.param("id");
    const home = runner.home(id);
    return home === undefined
      ? c.json({ error: `this process runs no household ${id}`, field: "id" }, 404)
      : c.json(home);
  });
  return app;
}

/**
 * The households the process runs: one of the config's (`--id`), or all of them (`--many`).
 * @throws {@link ValidationError} for a scenario with representatives, a household not in the
 * scenario, or one the config does not list.
 */
function selectHouseholds(
  configPath: string,
  config: HouseholdsConfig,
  scenario: Scenario,
  selection: HomeSelection,
): ScenarioHousehold[] {
  if (scenario.roles === "S2" || scenario.roles === "S3")
    throw new ValidationError([
      {
        path: `${configPath}: scenario`,
        message: `${scenario.name} has representatives trading for their clients (roles ${scenario.roles}); snippet household runs households that trade themselves (S1, S4) until representatives run as services`,
      },
    ]);
  const byId = new Map(scenario.households.map((household) => [household.id, household]));
  const listed = config.households === "all" ? [...byId.keys()] : config.households;
  const unknown = listed.findIndex((id) => !byId.has(id));
  if (unknown >= 0)
    throw new ValidationError([
      {
        path: `${configPath}: households[${unknown}]`,
        message: `"${listed[unknown]}" is not a household of scenario ${scenario.name}`,
      },
    ]);
  if ("id" in selection && !listed.includes(selection.id))
    throw new ValidationError([
      { path: "--id", message: `"${selection.id}" is not one of the households ${configPath} lists` },
    ]);
  const ids = "id" in selection ? [selection.id] : listed;
  return ids.map((id) => byId.get(id) as ScenarioHousehold);
}

/** The nodes' registry, which must list every household the process runs with its meter. */
function registryOf(
  configPath: string,
  registry: Registry | undefined,
  households: readonly ScenarioHousehold[],
): Registry {
  if (registry === undefined)
    throw new ValidationError([
      {
        path: `${configPath}: nodes`,
        message: "the nodes' configuration names no registry of the community",
      },
    ]);
  const unregistered = households.find(
    ({ id }) => registry.parties.get(id)?.role !== "household" || !registry.meterOf.has(id),
  );
  if (unregistered !== undefined)
    throw new ValidationError([
      {
        path: `${configPath}: nodes`,
        message: `household ${unregistered.id} is not registered with the nodes, with its meter`,
      },
    ]);
  return registry;
}

/** Each household's signer, from its own key in the key file. */
function signersOf(config: HouseholdsConfig, households: readonly ScenarioHousehold[]): Map<string, Signer> {
  const keys = loadRegistryKeys(config.keys);
  return new Map(
    households.map(({ id }) => {
      if (keys.parties[id] === undefined)
        throw new ValidationError([{ path: config.keys, message: `holds no key of household ${id}` }]);
      return [id, signerOf(keys, id)];
    }),
  );
}

/** The agents of the config; strategic ones plan on solver threads, closed with the service. */
async function agentSetup(
  config: HouseholdsConfig,
  closing: (() => Promise<void> | void)[],
): Promise<AgentSetup> {
  if (config.agents === "rule-based") return { kind: "rule-based" };
  const solver = await workerSolver();
  closing.push(() => solver.close());
  if (config.agents === "strategic") return strategicSetup(solver, {});
  const { horizonHours, replanHours } = config.agents;
  return strategicSetup(solver, {
    ...(horizonHours === undefined ? {} : { horizonHours }),
    ...(replanHours === undefined ? {} : { replanHours }),
  });
}
