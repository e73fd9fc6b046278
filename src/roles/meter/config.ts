/**
 * The meter service's config file (`meters.json`): where the nodes and the meters' keys are, which
 * meters it hosts, where their readings come from (the home bus over MQTT, a CSV series, or the
 * scenario's synthetic households), the broker whose calendar says when a slot has ended, the buffer
 * folder and the health endpoint. Paths are relative to the config file.
 * @module
 */
import { z } from "zod";
import { idField } from "../../validation/index.ts";
import {
  configRelative,
  configScenario,
  httpUrlField,
  listenSchema,
  loadServiceConfig,
  mqttUrlField,
  pathField,
} from "../service.ts";

const sourceSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("mqtt"),
      /** The home bus, such as `mqtt://127.0.0.1:1883`. */
      url: mqttUrlField,
      /** The persistent session's id (default: one derived from the hosted meters). */
      clientId: idField.optional(),
    }),
    z.strictObject({ kind: z.literal("csv"), path: pathField }),
    z.strictObject({
      kind: z.literal("synthetic"),
      /** A shipped scenario's name, or a scenario file. */
      scenario: z.string().min(1, { error: "is empty" }),
      seed: z.number().int({ error: "is not a whole number" }),
    }),
  ],
  { error: () => 'is not a kind of source: "mqtt", "csv" or "synthetic"' },
);

export const meterServiceConfigSchema = z.strictObject({
  /** The nodes' configuration (nodes.json), whose registry lists the meters. */
  nodes: pathField,
  /** The meters' signing keys, in the format of registry.keys.json. */
  keys: pathField,
  meters: z.union([z.literal("all"), z.array(idField).min(1, { error: "lists no meter" })], {
    error: () => 'is neither "all" nor a list of meter ids',
  }),
  source: sourceSchema,
  /** The broker, for the calendar. */
  broker: httpUrlField,
  /** The buffer's folder. */
  buffer: pathField,
  health: listenSchema,
});
/** The config; {@link loadMeterConfig} makes its paths absolute. */
export type MeterServiceConfig = z.infer<typeof meterServiceConfigSchema>;

/**
 * Reads and checks a meter service's config; paths in it become absolute.
 * @throws {@link ValidationError} naming the file and each bad field.
 */
export function loadMeterConfig(path: string): MeterServiceConfig {
  const file = loadServiceConfig(path, meterServiceConfigSchema);
  const at = (relative: string) => configRelative(path, relative);
  const { source } = file;
  return {
    ...file,
    nodes: at(file.nodes),
    keys: at(file.keys),
    buffer: at(file.buffer),
    source:
      source.kind === "csv"
        ? { ...source, path: at(source.path) }
        : source.kind === "synthetic"
          ? { ...source, scenario: configScenario(path, source.scenario) }
          : source,
  };
}
