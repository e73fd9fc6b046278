/**
 * `snippet meter`: a long-running service hosting one or many meters (a meter's own device, or the
 * DSO's head-end for many). It takes each slot's reading of each meter from its source, keeps it in
 * its buffer on disk, seals it with that meter's own key and sends it to the three nodes until all
 * three hold it or the slot's metering is closed. Killed and started again, it sends what it had
 * buffered: no reading lost, none sent twice to a node that holds it.
 * @module
 */
import { createHash, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import { loadRegistryKeys, privateKeyOf, type Registry } from "../../private/registry.ts";
import { loadScenario } from "../../sim/scenarios.ts";
import { describeError, ValidationError } from "../../validation/index.ts";
import { SlotCalendar } from "../broker/calendar.ts";
import { BrokerClient, BrokerError } from "../broker/client.ts";
import { NodeClient } from "../mpc-node/client.ts";
import { loadNodeConfig } from "../mpc-node/config.ts";
import { type Logger, runService, serveHttp, serviceLogger, whenReachable } from "../service.ts";
import { MeterBuffer } from "./buffer.ts";
import type { MeterReading } from "./bus.ts";
import { loadMeterConfig, type MeterServiceConfig } from "./config.ts";
import { parseReadingsCsv } from "./csv-source.ts";
import { type MqttSource, startMqttSource } from "./mqtt-source.ts";
import { ReadingSender } from "./sender.ts";
import { feedSlots } from "./slot-feed.ts";
import { type HostedMeter, syntheticReadings } from "./synthetic-source.ts";

/** A running meter service. */
export interface MeterService {
  readonly healthPort: number;
  /** Stops taking readings, lets the sends in hand end and closes the buffer. */
  stop(): Promise<void>;
}

/** What the health endpoint reports. */
export interface MeterHealth {
  readonly service: "meter";
  readonly status: "ok" | "degraded";
  readonly meters: number;
  readonly source: "mqtt" | "csv" | "synthetic";
  /** Whether the home bus is connected (mqtt source). */
  readonly bus?: "up" | "down";
  readonly nodes: "up" | "down" | "unknown";
  /** Readings taken and not yet settled. */
  readonly buffered: number;
}

/** Runs the service of the config at `configPath` until SIGTERM or SIGINT. */
export async function runMeterService(configPath: string): Promise<void> {
  const config = loadMeterConfig(configPath);
  await runService(serviceLogger("meter"), (options) => startMeterService(config, options));
}

/**
 * Starts a meter service: checks its meters against the registry and its keys, opens its buffer,
 * reads the calendar from the broker (waiting for it), resumes sending what the buffer holds, starts
 * its source and serves its health endpoint; logs "ready".
 * @throws {@link ValidationError} naming a bad config field, meter, key or CSV line.
 */
export async function startMeterService(
  config: MeterServiceConfig,
  options: { readonly logger: Logger; readonly signal: AbortSignal },
): Promise<MeterService> {
  const { logger, signal } = options;
  const nodeConfig = await loadNodeConfig(config.nodes);
  if (nodeConfig.registry === undefined)
    throw new ValidationError([
      { path: "nodes", message: `${config.nodes} names no registry of the meters` },
    ]);
  const meters = hostedMeters(config, nodeConfig.registry);
  const keys = meterKeys(config.keys, meters);
  const buffer = await MeterBuffer.open(config.buffer);
  const stopping = new AbortController();
  const onStartAbort = () => stopping.abort();
  signal.addEventListener("abort", onStartAbort, { once: true });
  let source: MqttSource | undefined;
  let sender: ReadingSender | undefined;
  let feeding: Promise<void> | undefined;
  const cleanUp = async () => {
    stopping.abort();
    await source?.close();
    await feeding;
    await sender?.stop();
    await buffer.close();
  };
  try {
    const broker = new BrokerClient(config.broker);
    const calendar = SlotCalendar.from(
      await whenReachable(`the broker's calendar at ${config.broker}`, () => broker.calendar(), {
        logger,
        signal,
        transient: (error) => error instanceof BrokerError && (error.status === 0 || error.status >= 500),
      }),
    );
    const activeSender = new ReadingSender({
      connect: () => NodeClient.connect(nodeConfig),
      keyOf: (meter) => keys.get(meter) as KeyObject,
      buffer,
      calendar,
      logger,
      // A reading is one round trip; a node that takes longer than its own network timeout is lost.
      answerTimeoutMs: nodeConfig.timeoutMs,
    });
    sender = activeSender;
    const resumed = buffer.pending();
    if (resumed.length > 0)
      logger.info({ readings: resumed.length }, "sending the readings buffered before the restart");
    for (const reading of resumed) activeSender.send(reading);
    const take = async (readings: readonly MeterReading[]): Promise<void> => {
      const outcomes = await buffer.take(readings);
      readings.forEach((reading, r) => {
        if (outcomes[r] === "new") activeSender.send(reading);
        else if (outcomes[r] === "conflict")
          logger.warn(
            { meter: reading.meter, slot: reading.slot },
            "a second, different reading of the slot: the first stands",
          );
      });
    };
    const { source: sourceConfig } = config;
    if (sourceConfig.kind === "mqtt") {
      source = await startMqttSource({
        url: sourceConfig.url,
        clientId: sourceConfig.clientId ?? defaultClientId(meters),
        meters: meters.map((meter) => meter.id),
        check: (reading) =>
          calendar.indexOf(reading.slot) === null
            ? { field: "slot", reason: `${reading.slot} is not a slot of the market's calendar` }
            : null,
        take: (reading) => take([reading]),
        logger,
        signal,
      });
    } else {
      const readingsOf =
        sourceConfig.kind === "csv"
          ? csvReadings(sourceConfig.path, meters, nodeConfig.registry, calendar)
          : {
              readingsOf: syntheticReadings(
                loadScenario(sourceConfig.scenario),
                sourceConfig.seed,
                calendar,
                meters,
              ),
            };
      feeding = feedSlots({ calendar, buffer, take, logger, signal: stopping.signal, ...readingsOf }).catch(
        (error: unknown) => {
          logger.error({ reason: describeError(error) }, "the source stopped");
        },
      );
    }
    const health = (): MeterHealth => {
      const nodesUp = activeSender.nodesUp;
      const busUp = source?.connected();
      return {
        service: "meter",
        status: nodesUp === false || busUp === false ? "degraded" : "ok",
        meters: meters.length,
        source: sourceConfig.kind,
        ...(busUp === undefined ? {} : { bus: busUp ? "up" : "down" }),
        nodes: nodesUp === undefined ? "unknown" : nodesUp ? "up" : "down",
        buffered: buffer.pendingCount,
      };
    };
    const app = new Hono().get("/health", (c) => {
      const report = health();
      return c.json(report, report.status === "ok" ? 200 : 503);
    });
    const server = await serveHttp(app, config.health);
    signal.removeEventListener("abort", onStartAbort);
    logger.info(
      {
        healthPort: server.port,
        meters: meters.length,
        source: sourceConfig.kind,
        buffered: buffer.pendingCount,
      },
      "ready",
    );
    return {
      healthPort: server.port,
      stop: async () => {
        await cleanUp();
        await server.close();
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** The meters the config names, each with its household, in registry order for "all". */
function hostedMeters(config: MeterServiceConfig, registry: Registry): HostedMeter[] {
  if (config.meters === "all")
    return [...registry.meters.values()].map(({ id, household }) => ({ id, household }));
  const issues = config.meters.flatMap((id, m) =>
    registry.meters.has(id) ? [] : [{ path: `meters[${m}]`, message: `"${id}" is not a registered meter` }],
  );
  if (issues.length > 0) throw new ValidationError(issues);
  return [...new Set(config.meters)].map((id) => ({
    id,
    household: registry.meters.get(id)?.household as string,
  }));
}

/** Each hosted meter's signing key. @throws {@link ValidationError} naming the meters the key file lacks. */
function meterKeys(path: string, meters: readonly HostedMeter[]): Map<string, KeyObject> {
  const keys = loadRegistryKeys(path);
  const lacking = meters.filter((meter) => keys.meters[meter.id] === undefined);
  if (lacking.length > 0)
    throw new ValidationError([
      {
        path: "keys",
        message: `${path} holds no key of meter ${lacking
          .slice(0, 5)
          .map((meter) => meter.id)
          .join(", ")}${lacking.length > 5 ? ` and ${lacking.length - 5} more` : ""}`,
      },
    ]);
  return new Map(meters.map((meter) => [meter.id, privateKeyOf(keys, "meters", meter.id)]));
}

/** The CSV source's readings by slot, checked whole before the service is ready. */
function csvReadings(
  path: string,
  meters: readonly HostedMeter[],
  registry: Registry,
  calendar: SlotCalendar,
): { readingsOf: (index: number) => readonly MeterReading[]; lastIndex: number } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ValidationError([
      { path: "source.path", message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code})` },
    ]);
  }
  const bySlot = parseReadingsCsv(
    text,
    path,
    { registered: new Set(registry.meters.keys()), hosted: new Set(meters.map((meter) => meter.id)) },
    calendar,
  );
  return { readingsOf: (index) => bySlot.get(index) ?? [], lastIndex: [...bySlot.keys()].at(-1) ?? -1 };
}

/** A persistent session id that stays the same for the same meters, and differs between services hosting others. */
function defaultClientId(meters: readonly HostedMeter[]): string {
  const digest = createHash("sha256")
    .update(meters.map((meter) => meter.id).join("\n"))
    .digest("hex");
  return `snippet-meters-${digest.slice(0, 16)}`;
}
