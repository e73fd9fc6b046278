/**
 * What the DSO's and each supplier's services share: they keep the next slots' prices (and limits)
 * published on the broker, signed with the party's registry key; they follow the board's live
 * updates and, once a slot is billed, ask the nodes for their own aggregates of it (and, a supplier,
 * for its customers' bills once a billing period is closed); they store those results in their own
 * folder as JSON lines, and where they are (the last board update handled, the last slot published)
 * so that a restarted service goes on without asking or storing anything twice.
 *
 * Their folder holds `slots.jsonl` (one line per billed slot), `periods.jsonl` (one line per closed
 * billing period) and `state.jsonl` (where the service is).
 * @module
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Hono } from "hono";
import { z } from "zod";
import { billingPeriodOf } from "../billing/index.ts";
import type { Signer } from "../private/keys.ts";
import { loadRegistryKeys, type PartyRole, type Registry, signerOf } from "../private/registry.ts";
import { JsonLinesFile } from "../system/json-lines.ts";
import { describeError, idField, integerField, ValidationError } from "../validation/index.ts";
import { type BoardSlot, MAX_PUBLISHED_SLOTS } from "./broker/board.ts";
import { SlotCalendar, type SlotTimes } from "./broker/calendar.ts";
import { BrokerClient, BrokerError } from "./broker/client.ts";
import { NodeClient } from "./mpc-node/client.ts";
import { loadNodeConfig } from "./mpc-node/config.ts";
import {
  configRelative,
  httpUrlField,
  type Logger,
  listenSchema,
  pathField,
  serveHttp,
  whenReachable,
} from "./service.ts";

/** The config fields a supplier's and the DSO's services share. */
export const partyConfigFields = {
  /** The broker's base URL. */
  broker: httpUrlField,
  /** The party's signing key, in the format of registry.keys.json. */
  keys: pathField,
  /** The party's registry id. */
  party: idField,
  /** How many coming slots to keep published. */
  aheadSlots: integerField(
    1,
    MAX_PUBLISHED_SLOTS,
    "not a positive slot count",
    `above ${MAX_PUBLISHED_SLOTS}`,
  ),
  /** The nodes' configuration (nodes.json), whose registry lists the party. */
  nodes: pathField,
  health: listenSchema,
  /** The folder of the service's results (default: `<party>-results` beside the config). */
  results: pathField.optional(),
};

/**
 * A config field naming where the party's prices (and limits) come from: a scenario's, by name or
 * file, or a file of the party's own, such as `example`.
 */
export function priceSourceField(example: string) {
  return z.union(
    [z.strictObject({ scenario: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })],
    { error: () => `is neither {"scenario": name or file} nor {"file": "${example}"}` },
  );
}

/** The shared fields with their paths made absolute. */
export interface PartyConfig {
  readonly broker: string;
  readonly keys: string;
  readonly party: string;
  readonly aheadSlots: number;
  readonly nodes: string;
  readonly health: z.infer<typeof listenSchema>;
  readonly results: string;
}

/** The shared fields of a config read from `configPath`, paths made absolute. */
export function partyConfigOf(
  configPath: string,
  file: Omit<PartyConfig, "results"> & { readonly results?: string | undefined },
): PartyConfig {
  const at = (path: string) => configRelative(configPath, path);
  return {
    broker: file.broker,
    keys: at(file.keys),
    party: file.party,
    aheadSlots: file.aheadSlots,
    nodes: at(file.nodes),
    health: file.health,
    results: at(file.results ?? `${file.party}-results`),
  };
}

/** Asks the nodes something, waiting for them while they cannot be reached. */
export type AskNodes = <T>(what: string, job: (client: NodeClient) => Promise<T>) => Promise<T | undefined>;

/** What makes a supplier's or the DSO's service its own. */
export interface PartyRoleSpec {
  readonly service: "supplier" | "dso";
  readonly role: PartyRole;
  /** Publishes the prices (and limits) of `slots`. */
  readonly publish: (broker: BrokerClient, signer: Signer, slots: readonly SlotTimes[]) => Promise<void>;
  /** Fetches what the party keeps of a billed slot: the line stored in slots.jsonl (null: nothing). */
  readonly billed: (
    ask: AskNodes,
    signer: Signer,
    slot: BoardSlot,
  ) => Promise<Record<string, unknown> | null>;
  /** Fetches what the party keeps of a closed billing period: the line stored in periods.jsonl. */
  readonly period?: (client: NodeClient, signer: Signer, period: string) => Promise<Record<string, unknown>>;
}

/** A running supplier or DSO service. */
export interface PartyService {
  readonly healthPort: number;
  stop(): Promise<void>;
}

const stateSchema = z.strictObject({
  /** The last board update handled. */
  seq: z.number().int().optional(),
  /** Slots before this index are published. */
  publishedThrough: z.number().int().nonnegative().optional(),
  /** The billing period of the last billed slot. */
  lastPeriod: z.string().optional(),
  /** Billing periods that ended and whose bills are still to be fetched. */
  pendingPeriods: z.array(z.string()).default([]),
});
type State = z.infer<typeof stateSchema>;

/** Tries of a job the nodes answer with an error before the service gives up on it. */
const ANSWERED_TRIES = 5;
/** The longest pause between two tries of anything, ms. */
const MOST_PAUSE_MS = 30_000;

/**
 * Starts a supplier's or the DSO's service: checks its party against the registry and its key,
 * reads the calendar from the broker (waiting for it), opens its folder, and runs its publishing and
 * its following of the board until stopped; logs "ready".
 * @throws {@link ValidationError} naming a bad config field or key.
 */
export async function startPartyService(
  config: PartyConfig,
  spec: PartyRoleSpec,
  options: { readonly logger: Logger; readonly signal: AbortSignal },
): Promise<PartyService> {
  const { logger } = options;
  const nodeConfig = await loadNodeConfig(config.nodes);
  checkParty(config, spec.role, nodeConfig.registry);
  const keys = loadRegistryKeys(config.keys);
  if (keys.parties[config.party] === undefined)
    throw new ValidationError([
      { path: "keys", message: `${config.keys} holds no key of party ${config.party}` },
    ]);
  const signer = signerOf(keys, config.party);
  const broker = new BrokerClient(config.broker);
  // The broker not reached, or failing: it is worth waiting for. Anything else is a fault to report.
  const transient = (error: unknown) =>
    error instanceof BrokerError && (error.status === 0 || error.status >= 500);
  const calendar = SlotCalendar.from(
    await whenReachable(`the broker's calendar at ${config.broker}`, () => broker.calendar(), {
      logger,
      signal: options.signal,
      transient,
    }),
  );

  const stopping = new AbortController();
  const signal = stopping.signal;
  const stateFile = await JsonLinesFile.open(join(config.results, "state.jsonl"));
  let state: State = stateSchema.parse(stateFile.records.at(-1) ?? {});
  const slotsFile = await JsonLinesFile.open(join(config.results, "slots.jsonl"));
  const periodsFile = await JsonLinesFile.open(join(config.results, "periods.jsonl"));
  const recordedSlots = new Set(slotsFile.records.map((record) => (record as { slot: string }).slot));
  const recordedPeriods = new Set(periodsFile.records.map((record) => (record as { period: string }).period));
  const saveState = (changes: Partial<State>) => {
    state = { ...state, ...changes };
    return stateFile.file.rewrite([state]);
  };
  let brokerUp: boolean | undefined;
  let nodesUp: boolean | undefined;

  const connect = async () => {
    try {
      const client = await NodeClient.connect(nodeConfig);
      nodesUp = true;
      return client;
    } catch (error) {
      nodesUp = false;
      throw error;
    }
  };
  const ask: AskNodes = async (what, job) => {
    for (let answered = 1; ; answered++) {
      const client = await whenReachable("the nodes", connect, { logger, signal, mostMs: MOST_PAUSE_MS });
      try {
        return await job(client);
      } catch (error) {
        if (signal.aborted) throw error;
        if (answered >= ANSWERED_TRIES) {
          logger.error({ what, reason: describeError(error) }, "the nodes keep refusing: given up");
          return undefined;
        }
        logger.warn({ what, reason: describeError(error) }, "the nodes refused: trying again");
        await pause(pauseMs(answered), signal);
      } finally {
        client.close();
      }
    }
  };

  /** Keeps the slots from the next gate on published, `aheadSlots` of them. */
  const publishing = async () => {
    for (let failures = 0; !signal.aborted; ) {
      const next = calendar.nextGateIndex(Date.now());
      const from = Math.max(next, state.publishedThrough ?? 0);
      let to = next + config.aheadSlots;
      if (calendar.settings.slots !== undefined) to = Math.min(to, calendar.settings.slots);
      try {
        for (let start = from; start < to; start += MAX_PUBLISHED_SLOTS) {
          const end = Math.min(to, start + MAX_PUBLISHED_SLOTS);
          const slots = Array.from({ length: end - start }, (_, k) => calendar.times(start + k));
          await spec.publish(broker, signer, slots);
          await saveState({ publishedThrough: end });
          logger.info({ from: slots[0]?.slot, slots: slots.length }, "published");
        }
        brokerUp = true;
        failures = 0;
        // Until the next gate closes: then one more slot comes within reach.
        await pause(Math.max(0, calendar.wallAt(calendar.times(next).gateMs) - Date.now()) + 1, signal);
      } catch (error) {
        if (signal.aborted) return;
        brokerUp = !transient(error);
        failures += 1;
        // The broker down is told once; the broker refusing the prices (a wrong key, say) at every try.
        if (!brokerUp && failures === 1)
          logger.warn({ reason: describeError(error) }, "cannot reach the broker to publish: trying again");
        else if (brokerUp)
          logger.error({ reason: describeError(error) }, "the broker refused the publication");
        await pause(pauseMs(failures), signal);
      }
    }
  };

  /** Handles one board update: a slot that lacks prices (the party was down at its gate), or a slot billed. */
  const onSlot = async (slot: BoardSlot) => {
    if (slot.prices === undefined)
      // The broker bills such a slot with the prices published late: publish them now.
      await spec.publish(broker, signer, [calendar.times(slot.index)]).then(
        () => logger.info({ slot: slot.slot }, "published the prices of a slot that went without"),
        (error: unknown) => logger.warn({ slot: slot.slot, reason: describeError(error) }, "cannot publish"),
      );
    if ((slot.phase !== "billed" && slot.phase !== "posted") || recordedSlots.has(slot.slot)) return;
    const record = await spec.billed(ask, signer, slot);
    if (signal.aborted) return;
    if (record !== null)
      await slotsFile.file.append([{ slot: slot.slot, index: slot.index, ...record }], { durable: true });
    recordedSlots.add(slot.slot);
    if (spec.period === undefined) return;
    const period = billingPeriodOf(slot.slot);
    const ended = [
      ...(state.lastPeriod !== undefined && state.lastPeriod !== period ? [state.lastPeriod] : []),
      // A run with an end closes its last period when it ends.
      ...(calendar.settings.slots !== undefined && slot.index === calendar.settings.slots - 1
        ? [period]
        : []),
    ].filter((ending) => !recordedPeriods.has(ending) && !state.pendingPeriods.includes(ending));
    await saveState({ lastPeriod: period, pendingPeriods: [...state.pendingPeriods, ...ended] });
  };

  const following = async () => {
    while (!signal.aborted) {
      try {
        for await (const event of broker.events({
          ...(state.seq === undefined ? {} : { after: state.seq }),
          signal,
        })) {
          await onSlot(event.slot);
          if (signal.aborted) return;
          await saveState({ seq: event.seq });
        }
      } catch (error) {
        if (signal.aborted) return;
        logger.warn(
          { reason: describeError(error) },
          "the board's live updates stopped: following them again",
        );
        await pause(MOST_PAUSE_MS / 10, signal);
      }
    }
  };

  /** Fetches the bills of each ended billing period once the nodes have closed it. */
  const periods = async () => {
    const period = spec.period;
    if (period === undefined) return;
    for (let tries = 0; !signal.aborted; ) {
      const pending = state.pendingPeriods[0];
      if (pending === undefined) {
        await pause(1000, signal);
        continue;
      }
      try {
        const client = await whenReachable("the nodes", connect, { logger, signal, mostMs: MOST_PAUSE_MS });
        let record: Record<string, unknown>;
        try {
          record = await period(client, signer, pending);
        } finally {
          client.close();
        }
        await periodsFile.file.append([{ period: pending, ...record }], { durable: true });
        recordedPeriods.add(pending);
        await saveState({ pendingPeriods: state.pendingPeriods.filter((p) => p !== pending) });
        logger.info({ period: pending }, "stored the billing period's bills");
        tries = 0;
      } catch (error) {
        if (signal.aborted) return;
        tries += 1;
        // The broker closes a period once its last slot is billed: until then the nodes say it is open.
        if (tries === 1)
          logger.info({ period: pending, reason: describeError(error) }, "waiting for the period's bills");
        await pause(pauseMs(tries), signal);
      }
    }
  };

  const loops = [publishing(), following(), periods()].map((loop) =>
    loop.catch((error: unknown) => {
      if (!signal.aborted) logger.error({ reason: describeError(error) }, "stopped working");
    }),
  );
  const stopAll = async () => {
    stopping.abort();
    await Promise.all(loops);
    for (const file of [stateFile, slotsFile, periodsFile]) await file.file.close();
  };
  try {
    const app = new Hono().get("/health", (c) => {
      const degraded = brokerUp === false || nodesUp === false;
      return c.json(
        {
          service: spec.service,
          status: degraded ? "degraded" : "ok",
          party: config.party,
          broker: brokerUp === undefined ? "unknown" : brokerUp ? "up" : "down",
          nodes: nodesUp === undefined ? "unknown" : nodesUp ? "up" : "down",
          publishedThrough: state.publishedThrough ?? null,
          slotsStored: recordedSlots.size,
          periodsStored: recordedPeriods.size,
        },
        degraded ? 503 : 200,
      );
    });
    const server = await serveHttp(app, config.health);
    logger.info({ healthPort: server.port, party: config.party }, "ready");
    return {
      healthPort: server.port,
      stop: async () => {
        await stopAll();
        await server.close();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** @throws {@link ValidationError} when the party is not registered with `role`. */
function checkParty(config: PartyConfig, role: PartyRole, registry: Registry | undefined): void {
  if (registry === undefined)
    throw new ValidationError([
      { path: "nodes", message: `${config.nodes} names no registry of the parties` },
    ]);
  const party = registry.parties.get(config.party);
  if (party === undefined)
    throw new ValidationError([{ path: "party", message: `"${config.party}" is not a registered party` }]);
  if (party.role !== role)
    throw new ValidationError([
      { path: "party", message: `"${config.party}" is registered as a ${party.role}, not as a ${role}` },
    ]);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

function pauseMs(tries: number): number {
  return Math.min(MOST_PAUSE_MS, 500 * 2 ** Math.min(tries - 1, 10));
}
