/**
 * The home bus: a simulated home publishes its meter's reading of each slot when the slot ends, as a
 * real meter's local interface would, on MQTT topic `snippet/meters/<meterId>/reading` with payload
 * `{"slot": ISO 8601, "importWh": n, "exportWh": n}`, QoS 1, not retained; the meter service takes it
 * from there. While the MQTT broker cannot be reached the client dials again and keeps what is
 * published meanwhile.
 * @module
 */
import { connect, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { type ReadingPayload, readingTopic } from "../meter/bus.ts";

/** Where the homes publish their meters' readings. */
export interface MeterBus {
  /** Resolves once the MQTT broker acknowledged the reading (QoS 1). */
  publish(meterId: string, reading: ReadingPayload): Promise<void>;
  close(): Promise<void>;
}

/** How long the client waits before it dials the MQTT broker again, ms. */
const RECONNECT_MS = 1_000;

/**
 * Connects to the MQTT broker at `url` (`mqtt://host:port`) without waiting for it: readings
 * published before it answers are sent once it does.
 */
export function connectMeterBus(url: string, log: Logger): MeterBus {
  const client: MqttClient = connect(url, {
    clientId: `snippet-household-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: RECONNECT_MS,
  });
  let down = false;
  const fail = (reason: string) => {
    if (!down) log.warn(`the home bus at ${url} cannot be reached (${reason}); readings wait until it can`);
    down = true;
  };
  client.on("error", (error) => fail(error.message));
  client.on("offline", () => fail("offline"));
  client.on("connect", () => {
    if (down) log.info(`the home bus at ${url} is reachable again`);
    down = false;
  });
  return {
    publish: async (meterId, { slot, importWh, exportWh }) => {
      await client.publishAsync(readingTopic(meterId), JSON.stringify({ slot, importWh, exportWh }), {
        qos: 1,
        retain: false,
      });
    },
    // Connected, it waits for the readings in flight to be acknowledged; not connected, it would wait
    // for ever: it drops them (their slots are not recorded yet, so the restarted homes publish them).
    close: () => client.endAsync(!client.connected),
  };
}
