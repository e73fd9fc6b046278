/**
 * The broker as a running service: its store opened and its calendar fixed (a restart with other
 * calendar settings is refused), the market loop driving the nodes, and the HTTP API serving the
 * board, until it is stopped or, with a slot count, the market has finished.
 * @module
 */
import { createPublicKey } from "node:crypto";
import { canonicalJson, type Signer } from "../../private/keys.ts";
import { loadRegistryKeys, type Registry, signerOf } from "../../private/registry.ts";
import { OperationalError } from "../../system/errors.ts";
import { ValidationError } from "../../validation/index.ts";
import { loadNodeConfig, type NodeConfig } from "../mpc-node/config.ts";
import { type HttpServer, type Logger, serveHttp } from "../service.ts";
import { BoardFeed, type BrokerHealth, brokerApi } from "./api.ts";
import { SlotCalendar } from "./calendar.ts";
import { type BrokerConfig, calendarSettingsOf } from "./config.ts";
import { Market, type RetryPolicy, systemClock } from "./market.ts";
import { NodeSteps, pingNodes } from "./nodes.ts";
import { type BrokerStore, openBrokerStore, type StoredCalendar } from "./store.ts";

/** How long the health check waits for a node's handshake, ms. */
const PING_TIMEOUT_MS = 2000;

export interface BrokerOptions {
  readonly log: Logger;
  /** The config file's path, as messages name it. */
  readonly configPath: string;
}

/** A running broker. */
export interface RunningBroker {
  readonly apiPort: number;
  readonly calendar: SlotCalendar;
  /** Settles when the market ends: finished its slots, or stopped; rejects when its store fails. */
  readonly market: Promise<"finished" | "stopped">;
  /** Stops gracefully: the step in hand is finished and stored, then the API and the store close. */
  stop(): Promise<void>;
}

/**
 * Starts the broker from its (loaded) configuration.
 * @throws {@link ValidationError} naming a bad file or field; {@link OperationalError} when the store
 *   cannot be opened or holds another calendar, the operator's key is not the registered one, or the
 *   port is taken.
 */
export async function startBroker(config: BrokerConfig, options: BrokerOptions): Promise<RunningBroker> {
  if (config.ledger !== undefined)
    throw new ValidationError([
      {
        path: `${options.configPath}: ledger`,
        message: "the broker cannot post to a ledger yet: leave it out",
      },
    ]);
  const nodes = await loadNodeConfig(config.nodes);
  const registry = nodes.registry;
  if (registry === undefined)
    throw new ValidationError([
      { path: `${options.configPath}: nodes`, message: `${config.nodes} names no registry of the community` },
    ]);
  const operator = operatorSigner(config, registry);
  const store = await openBrokerStore(config.store);
  let server: HttpServer | undefined;
  try {
    const stored = await fixCalendar(store, config, Date.now(), options.configPath);
    const calendar = new SlotCalendar(stored.settings);
    const steps = new NodeSteps({
      config: nodes,
      operator,
      model: stored.billingModel,
      log: options.log,
    });
    const feed = new BoardFeed();
    const market = new Market({
      calendar,
      store,
      steps,
      clock: systemClock,
      log: options.log,
      onEvent: (event) => feed.publish(event),
      retry: retryPolicyOf(calendar),
    });
    const app = brokerApi({
      calendar,
      billingModel: stored.billingModel,
      registry,
      store,
      takenRequests: await store.takenRequests(Date.now()),
      feed,
      onPublished: () => market.wake(),
      health: () => healthOf(nodes, calendar, Date.now()),
      log: options.log,
    });
    server = await serveHttp(app, config.listen);
    const stopping = new AbortController();
    const running = market.run(stopping.signal);
    // Whoever stops the broker hears how the market ended; a failure is not left unheard meanwhile.
    running.catch(() => undefined);
    const httpServer = server;
    let stopped: Promise<void> | undefined;
    return {
      apiPort: server.port,
      calendar,
      market: running,
      stop: () => {
        stopped ??= (async () => {
          stopping.abort();
          await running.catch(() => undefined);
          await httpServer.close();
          steps.close();
          await store.close();
        })();
        return stopped;
      },
    };
  } catch (error) {
    await server?.close();
    await store.close();
    throw error;
  }
}

/**
 * How failed steps are retried: from 1 s, doubling up to 30 s — or, on a calendar faster than the
 * wall clock, within a tenth and a third of a slot's wall time, so that a demo's slots wait alike.
 */
function retryPolicyOf(calendar: SlotCalendar): RetryPolicy {
  const slotWallMs = calendar.slotMs / calendar.settings.speed;
  return { firstMs: Math.min(1000, slotWallMs / 10), maxMs: Math.min(30_000, slotWallMs / 3) };
}

/** The operator's signer, its key checked against the registry's. */
function operatorSigner(config: BrokerConfig, registry: Registry): Signer {
  const party = registry.parties.get(config.operator);
  if (party?.role !== "operator")
    throw new OperationalError(
      `${config.operator} is not ${party === undefined ? "registered" : "the operator"} in the nodes' registry: set "operator" to the operator's party id`,
    );
  let signer: Signer;
  try {
    signer = signerOf(loadRegistryKeys(config.keys), config.operator);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new OperationalError(`${config.keys} holds no key of ${config.operator}`);
  }
  if (!createPublicKey(signer.key).equals(party.signingKey))
    throw new OperationalError(
      `the key of ${config.operator} in ${config.keys} is not the one the nodes' registry holds for it`,
    );
  return signer;
}

/**
 * The calendar the market runs: the stored one, or this start's when none is stored.
 * @throws {@link OperationalError} when the config declares another calendar than the stored one.
 */
async function fixCalendar(
  store: BrokerStore,
  config: BrokerConfig,
  nowMs: number,
  configPath: string,
): Promise<StoredCalendar> {
  const stored = await store.fixCalendar({
    declared: config.calendar,
    billingModel: config.billingModel,
    settings: calendarSettingsOf(config.calendar, nowMs),
  });
  const declared: Record<string, unknown> = { ...config.calendar };
  const storedDeclared: Record<string, unknown> = { ...stored.declared };
  const differences = [
    ...Object.keys({ ...declared, ...storedDeclared })
      .filter((key) => canonicalJson(declared[key] ?? null) !== canonicalJson(storedDeclared[key] ?? null))
      .map(
        (key) =>
          `calendar.${key} ${JSON.stringify(storedDeclared[key])}, not ${JSON.stringify(declared[key])}`,
      ),
    ...(stored.billingModel === config.billingModel
      ? []
      : [`billingModel ${JSON.stringify(stored.billingModel)}, not ${JSON.stringify(config.billingModel)}`]),
  ];
  if (differences.length > 0)
    throw new OperationalError(
      `the store ${store.target} holds a market begun with ${differences.join(", ")} as ${configPath} now says: ` +
        "restore those settings, or start a new market with a new store",
    );
  return stored;
}

async function healthOf(nodes: NodeConfig, calendar: SlotCalendar, nowMs: number): Promise<BrokerHealth> {
  const reachability = await pingNodes(nodes, PING_TIMEOUT_MS);
  const { originMs } = calendar.settings;
  const current = Math.floor((calendar.marketAt(nowMs) - originMs) / calendar.slotMs);
  return {
    service: "broker",
    status: reachability.every((node) => node.up) ? "ok" : "degraded",
    nodes: reachability.map((node) => ({ ...node })),
    slot: current < 0 || calendar.isPastEnd(current) ? null : current,
  };
}
