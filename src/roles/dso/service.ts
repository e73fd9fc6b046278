/**
 * `snippet dso`: the DSO's long-running service. It keeps the next `aheadSlots` slots' network fee
 * and feeder-zone limits published on the broker (from the scenario's tariff and zones, or from a
 * network file), stores each billed slot's totals per zone (zones of fewer than the registry's
 * `minGroupMeters` meters are withheld by the nodes) and logs congestion: a zone whose net flow broke
 * its export or import limit.
 *
 * Network file (`network.json`): the fee in money per kWh units on the 16-bit grid, flat or in
 * time-of-use bands of UTC hours, and the zones' limits, Wh per slot:
 *
 * ```json
 * { "timeOfUse": [ { "fromHour": 0, "toHour": 7, "networkFee": 250 },
 *                  { "fromHour": 7, "toHour": 24, "networkFee": 400 } ],
 *   "zones": [ { "id": "old-town", "exportLimitWh": 8000, "importLimitWh": 6000 } ] }
 * ```
 * or `{ "networkFee": 350 }` for one community zone without limits.
 * @module
 */
import { z } from "zod";
import { tariffAt } from "../../sim/scenario.ts";
import { loadScenario } from "../../sim/scenarios.ts";
import { energyField, idField, priceField, ValidationError } from "../../validation/index.ts";
import type { BoardSlot } from "../broker/board.ts";
import {
  type PartyConfig,
  type PartyService,
  partyConfigFields,
  partyConfigOf,
  priceSourceField,
  startPartyService,
} from "../party-service.ts";
import {
  configRelative,
  configScenario,
  type Logger,
  loadServiceConfig,
  runService,
  serviceLogger,
} from "../service.ts";
import { timeOfUseSchema, valuesAt } from "../time-of-use.ts";
import { type GroupTotals, meterTotals } from "./totals.ts";

export const dsoConfigSchema = z.strictObject({
  ...partyConfigFields,
  /** Where the network fee and zone limits come from: a scenario's (by name or file), or a network file. */
  network: priceSourceField("network.json"),
});

/** A feeder zone's limits on its net flow to (export) and from (import) the rest of the community, Wh per slot. */
export interface ZoneLimits {
  readonly id: string;
  readonly exportLimitWh: number;
  readonly importLimitWh: number;
}

const zoneSchema = z.strictObject({ id: idField, exportLimitWh: energyField, importLimitWh: energyField });

export const networkFileSchema = timeOfUseSchema(
  { networkFee: priceField },
  { zones: z.array(zoneSchema).min(1, { error: "lists no zone" }).optional() },
);

/** A DSO service's config, paths made absolute, with its network read. */
export interface DsoConfig extends PartyConfig {
  readonly networkFeeAt: (startMs: number) => number;
  /** The zones' limits; absent: the community is one zone, without limits. */
  readonly zones?: readonly ZoneLimits[];
}

/**
 * Reads and checks the DSO's config and its network.
 * @throws {@link ValidationError} naming the file and each bad field.
 */
export function loadDsoConfig(path: string): DsoConfig {
  const file = loadServiceConfig(path, dsoConfigSchema);
  const { network } = file;
  const base = partyConfigOf(path, file);
  if ("scenario" in network) {
    const scenario = loadScenario(configScenario(path, network.scenario));
    return {
      ...base,
      networkFeeAt: (startMs) => tariffAt(scenario, startMs).networkFee,
      ...(scenario.zones === undefined ? {} : { zones: scenario.zones }),
    };
  }
  const networkPath = configRelative(path, network.file);
  const schedule = loadServiceConfig(networkPath, networkFileSchema);
  const { zones } = schedule;
  const ids = new Set<string>();
  for (const [z, zone] of (zones ?? []).entries()) {
    if (ids.has(zone.id))
      throw new ValidationError([
        { path: `${networkPath}: zones[${z}].id`, message: `"${zone.id}" is listed twice` },
      ]);
    ids.add(zone.id);
  }
  return {
    ...base,
    networkFeeAt: (startMs) => valuesAt<{ networkFee: number }>(schedule, startMs).networkFee,
    ...(zones === undefined ? {} : { zones }),
  };
}

/** A zone's measured flow in a slot against its limits. */
export interface ZoneFlow {
  readonly zone: string;
  readonly meters: number;
  /** Null when the nodes withheld the zone's totals (too few meters to hide one). */
  readonly importWh: number | null;
  readonly exportWh: number | null;
  /** exportWh − importWh: what the zone fed into the rest of the community. */
  readonly netExportWh: number | null;
  /** The limit it broke, if any. */
  readonly congestion: "export" | "import" | null;
}

/** Each zone's flow against its limits (the board's for the slot, else the DSO's own). */
export function zoneFlows(
  groups: readonly GroupTotals[],
  limits: readonly ZoneLimits[] | undefined,
): ZoneFlow[] {
  const limitOf = new Map((limits ?? []).map((zone) => [zone.id, zone]));
  return groups.map(({ id, meters, totals }) => {
    if (totals === null)
      return { zone: id, meters, importWh: null, exportWh: null, netExportWh: null, congestion: null };
    const netExportWh = totals.exportWh - totals.importWh;
    const limit = limitOf.get(id);
    const congestion =
      limit === undefined
        ? null
        : netExportWh > limit.exportLimitWh
          ? "export"
          : -netExportWh > limit.importLimitWh
            ? "import"
            : null;
    return { zone: id, meters, ...totals, netExportWh, congestion };
  });
}

/** Starts the DSO's service (see the module's description). */
export function startDsoService(
  config: DsoConfig,
  options: { readonly logger: Logger; readonly signal: AbortSignal },
): Promise<PartyService> {
  const { logger } = options;
  return startPartyService(
    config,
    {
      service: "dso",
      role: "dso",
      publish: (broker, signer, slots) =>
        broker.publishNetwork(signer, {
          slots: slots.map((times) => ({
            slot: times.slot,
            networkFee: config.networkFeeAt(times.startMs),
            ...(config.zones === undefined ? {} : { zoneLimits: config.zones.map((zone) => ({ ...zone })) }),
          })),
        }),
      billed: async (ask, signer, slot: BoardSlot) => {
        const groups = await ask(`the zones' totals of ${slot.slot}`, (client) =>
          meterTotals(client, slot.slot, "zone", signer),
        );
        if (groups === undefined) return null;
        const zones = zoneFlows(groups, slot.zoneLimits ?? config.zones);
        for (const flow of zones)
          if (flow.congestion !== null)
            logger.warn(
              { slot: slot.slot, zone: flow.zone, netExportWh: flow.netExportWh, limit: flow.congestion },
              `congestion: the zone's net ${flow.congestion} broke its limit`,
            );
        return { zones };
      },
    },
    options,
  );
}

/** Runs the DSO service of the config at `configPath` until SIGTERM or SIGINT. */
export async function runDsoService(configPath: string): Promise<void> {
  const config = loadDsoConfig(configPath);
  await runService(serviceLogger("dso", { party: config.party }), (options) =>
    startDsoService(config, options),
  );
}
