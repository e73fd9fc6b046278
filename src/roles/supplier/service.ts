/**
 * `snippet supplier`: a supplier's long-running service. It keeps the next `aheadSlots` slots'
 * feed-in and retail prices published on the broker (from the scenario's tariff, or from a tariff
 * file of time-of-use bands), and stores its portfolio's totals of each billed slot and its
 * customers' bills of each closed billing period — nothing of a single household below period level.
 *
 * Tariff file (`tariff.json`), prices in money per kWh units on the 16-bit grid, bands in UTC hours:
 *
 * ```json
 * { "timeOfUse": [ { "fromHour": 0, "toHour": 6, "feedIn": 400, "retail": 2200 },
 *                  { "fromHour": 6, "toHour": 24, "feedIn": 500, "retail": 3100 } ] }
 * ```
 * or flat: `{ "feedIn": 500, "retail": 2800 }`.
 * @module
 */
import { z } from "zod";
import { tariffAt } from "../../sim/scenario.ts";
import { loadScenario } from "../../sim/scenarios.ts";
import { priceField, ValidationError } from "../../validation/index.ts";
import { meterTotals } from "../dso/totals.ts";
import { periodBills } from "../household/figures.ts";
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
import { type TimeOfUse, timeOfUseSchema, valuesAt } from "../time-of-use.ts";

export const supplierConfigSchema = z.strictObject({
  ...partyConfigFields,
  /** Where the tariffs come from: a scenario's (by name or file), or a tariff file. */
  tariff: priceSourceField("tariff.json"),
});

/** A supplier's prices of one slot. */
export interface SupplierPrices {
  readonly feedIn: number;
  readonly retail: number;
}

export const tariffFileSchema = timeOfUseSchema({ feedIn: priceField, retail: priceField });

/** A supplier service's config, paths made absolute, with its tariff read. */
export interface SupplierConfig extends PartyConfig {
  readonly tariffAt: (startMs: number) => SupplierPrices;
}

/**
 * Reads and checks a supplier's config and its tariff.
 * @throws {@link ValidationError} naming the file and each bad field.
 */
export function loadSupplierConfig(path: string): SupplierConfig {
  const file = loadServiceConfig(path, supplierConfigSchema);
  const { tariff } = file;
  let prices: (startMs: number) => SupplierPrices;
  if ("scenario" in tariff) {
    const scenario = loadScenario(configScenario(path, tariff.scenario));
    prices = (startMs) => {
      const { feedIn, retail } = tariffAt(scenario, startMs);
      return { feedIn, retail };
    };
  } else {
    const schedule = readTariffFile(path, tariff.file);
    prices = (startMs) => valuesAt(schedule, startMs);
  }
  return { ...partyConfigOf(path, file), tariffAt: prices };
}

/** A tariff file's time-of-use bands. @throws {@link ValidationError} naming the file and each bad field. */
function readTariffFile(configPath: string, file: string): TimeOfUse<SupplierPrices> {
  const path = configRelative(configPath, file);
  const schedule = loadServiceConfig(path, tariffFileSchema);
  const bands = "timeOfUse" in schedule ? schedule.timeOfUse : [schedule];
  const issues = bands.flatMap((band, b) =>
    band.feedIn > band.retail
      ? [
          {
            path: `${path}: ${"timeOfUse" in schedule ? `timeOfUse[${b}].` : ""}feedIn`,
            message: `${band.feedIn} is above the retail price ${band.retail}`,
          },
        ]
      : [],
  );
  if (issues.length > 0) throw new ValidationError(issues);
  return schedule;
}

/** Starts a supplier's service (see the module's description). */
export function startSupplierService(
  config: SupplierConfig,
  options: { readonly logger: Logger; readonly signal: AbortSignal },
): Promise<PartyService> {
  return startPartyService(
    config,
    {
      service: "supplier",
      role: "supplier",
      publish: (broker, signer, slots) =>
        broker.publishTariffs(signer, {
          slots: slots.map((times) => ({ slot: times.slot, ...config.tariffAt(times.startMs) })),
        }),
      billed: async (ask, signer, slot) => {
        const groups = await ask(`the portfolio's totals of ${slot.slot}`, (client) =>
          meterTotals(client, slot.slot, "supplier", signer),
        );
        return groups === undefined ? null : { portfolio: groups };
      },
      period: async (client, signer, period) => ({ bills: await periodBills(client, period, signer) }),
    },
    options,
  );
}

/** Runs the supplier service of the config at `configPath` until SIGTERM or SIGINT. */
export async function runSupplierService(configPath: string): Promise<void> {
  const config = loadSupplierConfig(configPath);
  await runService(serviceLogger("supplier", { party: config.party }), (options) =>
    startSupplierService(config, options),
  );
}
