/**
 * The meter service's `mqtt` source: it subscribes to each hosted meter's reading topic on the home
 * bus with QoS 1 in a persistent session (what is published while the service is down waits on the
 * bus), and acknowledges a reading only once the buffer holds it on disk. A malformed payload is
 * logged with the field at fault and dropped (acknowledged: sending it again would not mend it); the
 * other readings are not disturbed.
 * @module
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { OperationalError } from "../../system/errors.ts";
import { describeError, ValidationError } from "../../validation/index.ts";
import { type MeterReading, meterOfTopic, parseReadingPayload, readingTopic } from "./bus.ts";

export interface MqttSourceOptions {
  readonly url: string;
  /** The persistent session's id: the same on every run of this service, unique on the bus. */
  readonly clientId: string;
  readonly meters: readonly string[];
  /** Why a well-formed reading is still refused (its slot is no slot of the calendar), or null. */
  readonly check: (reading: MeterReading) => { field: string; reason: string } | null;
  /** Takes a reading into the buffer; resolves once it is on disk. */
  readonly take: (reading: MeterReading) => Promise<void>;
  readonly logger: Logger;
  /** Ends the wait for the first subscription (the service is stopped while it starts). */
  readonly signal: AbortSignal;
}

/** A running subscription to the home bus. */
export interface MqttSource {
  /** Whether the service is connected to the bus now. */
  readonly connected: () => boolean;
  close(): Promise<void>;
}

/** Topics per SUBSCRIBE packet: a service hosting ten thousand meters subscribes in a few packets. */
const TOPICS_PER_SUBSCRIBE = 1000;

/**
 * Connects to the bus and subscribes; resolves once subscribed the first time (the bus is dialled
 * again, and the subscriptions made again, whenever the connection drops).
 */
export function startMqttSource(options: MqttSourceOptions): Promise<MqttSource> {
  const { logger } = options;
  const hosted = new Set(options.meters);
  const client: MqttClient = mqtt.connect(options.url, {
    clientId: options.clientId,
    clean: false,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
  });

  const handle = async (topic: string, payload: Buffer): Promise<void> => {
    const meter = meterOfTopic(topic);
    if (meter === null || !hosted.has(meter)) {
      logger.warn({ topic }, "dropped a message on a topic of no meter this service hosts");
      return;
    }
    let reading: MeterReading;
    try {
      reading = parseReadingPayload(meter, payload);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      for (const issue of error.issues)
        logger.warn({ meter, field: issue.path, reason: issue.message }, "refused a malformed reading");
      return;
    }
    const problem = options.check(reading);
    if (problem !== null) {
      logger.warn({ meter, ...problem }, "refused a malformed reading");
      return;
    }
    await options.take(reading);
  };

  // mqtt.js acknowledges a QoS 1 message once this callback is called without an error: only when
  // the reading is on disk. With an error there is no acknowledgement, and the bus sends it again
  // when the service reconnects.
  client.handleMessage = (packet, callback) => {
    handle(packet.topic, Buffer.from(packet.payload)).then(
      () => callback(),
      (error: unknown) => {
        logger.error(
          { topic: packet.topic, reason: describeError(error) },
          "cannot buffer a reading: not acknowledged",
        );
        callback(error as Error);
      },
    );
  };

  let connected = false;
  const topics = options.meters.map(readingTopic);
  const subscribe = async (): Promise<void> => {
    for (let from = 0; from < topics.length; from += TOPICS_PER_SUBSCRIBE)
      await client.subscribeAsync(topics.slice(from, from + TOPICS_PER_SUBSCRIBE), { qos: 1 });
  };
  return new Promise((resolve, reject) => {
    let first = true;
    /** Whether an outage was logged: once per outage, not at every redial. */
    let told = false;
    const onAbort = () => {
      if (!first) return;
      first = false;
      client.end(true);
      reject(options.signal.reason);
    };
    options.signal.addEventListener("abort", onAbort, { once: true });
    client.on("connect", () => {
      connected = true;
      told = false;
      subscribe().then(
        () => {
          logger.info({ url: options.url, topics: topics.length }, "subscribed on the home bus");
          if (first) {
            first = false;
            options.signal.removeEventListener("abort", onAbort);
            resolve({ connected: () => connected, close: () => client.endAsync() });
          }
        },
        (error: unknown) => {
          logger.error({ reason: describeError(error) }, "cannot subscribe on the home bus");
          if (first) {
            first = false;
            client.end(true);
            reject(
              new OperationalError(
                `the home bus at ${options.url} refused the subscriptions (${describeError(error)})`,
              ),
            );
          }
        },
      );
    });
    client.on("close", () => {
      if (connected) logger.warn({ url: options.url }, "lost the home bus: dialling it again");
      connected = false;
    });
    client.on("error", (error) => {
      if (!told) logger.warn({ url: options.url, reason: error.message }, "the home bus cannot be reached");
      told = true;
    });
  });
}
