/**
 * The household service's config file (`households.json`): the broker it follows, the nodes and the
 * households' keys, the scenario whose homes it simulates with the run's seed and agents, which
 * households it may run, where it keeps their records, the home bus its meters' readings go to, and
 * its health endpoint. Paths are relative to the config file.
 * @module
 */
import { z } from "zod";
import { idField, integerField } from "../../validation/index.ts";
import {
  configRelative,
  configScenario,
  configStore,
  httpUrlField,
  listenSchema,
  loadServiceConfig,
  mqttUrlField,
  pathField,
} from "../service.ts";

const hoursField = integerField(1, 168, "not a positive number of hours", "above a week");

export const householdsConfigSchema = z.strictObject({
  /** The broker: the calendar and the board's live updates. */
  broker: httpUrlField,
  /** The nodes' configuration (nodes.json), whose registry lists the households. */
  nodes: pathField,
  /** The households' signing keys, in the format of registry.keys.json (a home's file holds its own only). */
  keys: pathField,
  /** A shipped scenario's name, or a scenario file: the homes it simulates. */
  scenario: z.string().min(1, { error: "is empty" }),
  /** The run's seed: forecasts and meter errors draw from it, as `snippet simulate --seed`. */
  seed: z.number().int({ error: "is not a whole number" }).min(0, { error: "is negative" }),
  /** The households' agents: rule-based, or strategic (HiGHS planning) with its horizon and rhythm. */
  agents: z
    .union(
      [
        z.enum(["rule-based", "strategic"]),
        z.strictObject({
          kind: z.literal("strategic"),
          horizonHours: hoursField.optional(),
          replanHours: hoursField.optional(),
        }),
      ],
      { error: () => 'is neither "rule-based", "strategic" nor {"kind": "strategic", …}' },
    )
    .default("rule-based"),
  /** The households this service may run: every household of the scenario, or these. */
  households: z.union([z.literal("all"), z.array(idField).min(1, { error: "lists no household" })], {
    error: () => 'is neither "all" nor a list of household ids',
  }),
  /** Where the households keep their records: a PGlite folder, or a postgres:// URL. */
  store: pathField,
  /** The home bus the simulated homes publish their meters' readings on. */
  homeBus: z.strictObject({ url: mqttUrlField }),
  health: listenSchema,
});
export type HouseholdsConfig = z.infer<typeof householdsConfigSchema>;

/**
 * Reads and checks a household service's config; its paths become absolute (a PostgreSQL URL stays),
 * its scenario a file beside it or a shipped scenario's name.
 * @throws {@link ValidationError} naming the file and each bad field.
 */
export function loadHouseholdsConfig(path: string): HouseholdsConfig {
  const file = loadServiceConfig(path, householdsConfigSchema);
  const at = (relative: string) => configRelative(path, relative);
  return {
    ...file,
    nodes: at(file.nodes),
    keys: at(file.keys),
    store: configStore(path, file.store),
    scenario: configScenario(path, file.scenario),
  };
}
