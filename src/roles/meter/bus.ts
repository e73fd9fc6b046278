/**
 * A meter reading as it travels on the home bus (MQTT): each meter's topic
 * `snippet/meters/<meterId>/reading`, and its payload `{"slot": ISO 8601, "importWh": n, "exportWh": n}`
 * (QoS 1, not retained), checked field by field.
 * @module
 */
import { z } from "zod";
import {
  energyField,
  parseJsonText,
  parseWith,
  slotTimeField,
  ValidationError,
} from "../../validation/index.ts";

/** One slot's reading of one meter, with the slot named as the calendar names it (`toISOString`). */
export interface MeterReading {
  readonly meter: string;
  readonly slot: string;
  readonly importWh: number;
  readonly exportWh: number;
}

export const readingPayloadSchema = z.strictObject({
  slot: slotTimeField,
  importWh: energyField,
  exportWh: energyField,
});
export type ReadingPayload = z.infer<typeof readingPayloadSchema>;

/** A payload larger than this is refused unread: a reading takes under a hundred bytes. */
export const MAX_PAYLOAD_BYTES = 1024;

const TOPIC_PREFIX = "snippet/meters/";
const TOPIC_SUFFIX = "/reading";

/** The topic a meter's readings are published on. */
export function readingTopic(meter: string): string {
  return `${TOPIC_PREFIX}${meter}${TOPIC_SUFFIX}`;
}

/** The meter a reading topic names, or null when it is no reading topic. */
export function meterOfTopic(topic: string): string | null {
  if (!topic.startsWith(TOPIC_PREFIX) || !topic.endsWith(TOPIC_SUFFIX)) return null;
  const meter = topic.slice(TOPIC_PREFIX.length, topic.length - TOPIC_SUFFIX.length);
  return meter.length === 0 || meter.includes("/") ? null : meter;
}

/**
 * The slot a time names, as the calendar and the nodes name it: `2026-06-01T12:00Z` and
 * `2026-06-01T14:00:00+02:00` are the one slot `2026-06-01T12:00:00.000Z`.
 */
export function canonicalSlot(time: string): string {
  return new Date(Date.parse(time)).toISOString();
}

/**
 * A meter's reading from its bus payload.
 * @throws {@link ValidationError} naming the field at fault (`importWh: -3 is negative`).
 */
export function parseReadingPayload(meter: string, payload: Uint8Array): MeterReading {
  if (payload.byteLength > MAX_PAYLOAD_BYTES)
    throw new ValidationError([
      {
        path: "(payload)",
        message: `is ${payload.byteLength} bytes, above the ${MAX_PAYLOAD_BYTES} a reading may take`,
      },
    ]);
  const { slot, importWh, exportWh } = parseWith(
    readingPayloadSchema,
    parseJsonText(Buffer.from(payload).toString("utf8")),
  );
  return { meter, slot: canonicalSlot(slot), importWh, exportWh };
}
