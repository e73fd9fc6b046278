/**
 * Scenario files: a community to simulate — its households with their assets, preferences and
 * connections, its tariffs, feeder zones and DSO limits, slot length, and which SNIPPET roles (S1–S4)
 * take part. Validated at the boundary like every input.
 * @module
 */
import { z } from "zod";
import type { HouseholdAssets, Site } from "../profiles/types.ts";
import {
  energyField,
  idField,
  integerField,
  oneOfField,
  parseWith,
  priceField,
  slotTimeField,
  versionField,
} from "../validation/index.ts";

const finite = (what: string, min: number, max: number): z.ZodNumber =>
  z
    .number({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a number` })
    .min(min, { error: (issue) => `${issue.input} is below the ${what} minimum ${min}` })
    .max(max, { error: (issue) => `${issue.input} is above the ${what} maximum ${max}` });

const hourField = integerField(0, 24, "not an hour of the day (0..24)", "not an hour of the day (0..24)");

/** The largest fuse rating a scenario may give a connection, W: 1 GW, well within the per-slot range. */
const MAX_PHYSICAL_CAPACITY_W = 1_000_000_000;

/**
 * What a connection can physically carry when its scenario says nothing: a 3-phase 25 A fuse at
 * 230 V, 17,250 W (4,312 Wh per 15-minute slot), above what the shipped homes ever draw or feed in.
 */
export const DEFAULT_PHYSICAL_CAPACITY_W = 17_250;

/** A connection's fuse rating, W: what it can physically carry, whatever the DSO lets it trade. */
const physicalCapacityField = integerField(1, MAX_PHYSICAL_CAPACITY_W, "not a positive power", "above 1 GW");

const tariffBandSchema = z.strictObject({ feedIn: priceField, retail: priceField, networkFee: priceField });

/** A time-of-use band: the tariff from `fromHour` (inclusive) to `toHour` (exclusive), local time of the grid (UTC). */
const timeOfUseBandSchema = tariffBandSchema.extend({ fromHour: hourField, toHour: hourField });

const tariffSchema = z.union(
  [
    tariffBandSchema,
    z.strictObject({ timeOfUse: z.array(timeOfUseBandSchema).min(1, { error: () => "is empty" }) }),
  ],
  { error: () => "is neither a flat tariff {feedIn, retail, networkFee} nor {timeOfUse: [...]}" },
);

const assetsSchema = z.strictObject({
  annualKwh: finite("annual consumption", 0, 1_000_000),
  pv: z
    .strictObject({
      kWp: finite("PV size", 0, 10_000),
      tiltDeg: finite("tilt", 0, 90),
      azimuthDeg: finite("azimuth", -180, 180),
      lossFraction: finite("loss", 0, 1).optional(),
    })
    .optional(),
  ev: z
    .strictObject({
      batteryKwh: finite("battery", 1, 500),
      chargerKw: finite("charger power", 0.5, 350),
      arrivalHour: finite("arrival hour", 0, 24),
      departureHour: finite("departure hour", 0, 24),
      dailyKwh: finite("daily energy", 0, 500),
    })
    .optional(),
  heatPump: z
    .strictObject({
      heatLossWPerK: finite("heat loss", 1, 100_000),
      thermalCapacityKwhPerK: finite("thermal capacity", 0.1, 10_000),
      ratedKw: finite("heat pump power", 0.1, 1_000),
      minTemperatureC: finite("room temperature", 5, 30),
      maxTemperatureC: finite("room temperature", 5, 30),
    })
    .optional(),
  battery: z
    .strictObject({
      capacityKwh: finite("battery capacity", 0.1, 10_000),
      powerKw: finite("battery power", 0.1, 10_000),
      efficiency: finite("battery efficiency", 0.5, 1).optional(),
      minSocFraction: finite("battery minimum state of charge", 0, 0.9).optional(),
    })
    .optional(),
});

const preferencesSchema = z.strictObject({
  /** Partners this household sells to, in priority order (price 0: a donation). */
  offers: z.array(z.strictObject({ partner: idField, price: priceField, capWh: energyField })).optional(),
  /** Sellers this household accepts energy from. */
  accepts: z
    .array(z.strictObject({ partner: idField, capWh: energyField, maxPrice: priceField.optional() }))
    .optional(),
  /** Hours in which it takes part in the community market; outside them it deals only with partners and its supplier. */
  tradingWindows: z.array(z.strictObject({ fromHour: hourField, toHour: hourField })).optional(),
  /** How eagerly it trades, 0..1: a buyer's limit rises and a seller's falls with it (see agents/rule-based.ts). */
  eagerness: finite("eagerness", 0, 1).optional(),
  /** The most it gives away (offers at price 0) per calendar month, kWh. */
  donationBudgetKwhPerMonth: finite("donation budget", 0, 1_000_000).optional(),
});

const householdSchema = z.strictObject({
  id: idField,
  zone: idField.optional(),
  assets: assetsSchema,
  /** The DSO's cap on what this connection trades per slot, both directions, Wh. */
  connectionCapWh: energyField.optional(),
  /** What this connection can physically carry, W (its fuse rating); default: the scenario's. */
  physicalCapacityW: physicalCapacityField.optional(),
  preferences: preferencesSchema.optional(),
  /** The representative that trades for this passive household (scenarios S2, S3). */
  representative: idField.optional(),
});

const scenarioSchema = z
  .strictObject({
    version: versionField,
    name: idField,
    description: z.string().optional(),
    /** Which SNIPPET scenario's roles take part: S1 direct peers, S2 + representatives, S3 + brokers, S4 brokers only. */
    roles: oneOfField(["S1", "S2", "S3", "S4"]),
    start: slotTimeField,
    slotMinutes: z.union([z.literal(15), z.literal(30)], { error: () => "is not 15 or 30" }),
    site: z.strictObject({
      latitudeDeg: finite("latitude", -90, 90),
      longitudeDeg: finite("longitude", -180, 180),
      meanTemperatureC: finite("mean temperature", -30, 40),
      cloudiness: finite("cloudiness", 0, 1),
    }),
    tariff: tariffSchema,
    /**
     * What every household's connection can physically carry, W, unless it says otherwise: a meter
     * reading above it for a slot is refused and billed at the commitment. Default 17,250 W.
     */
    physicalCapacityW: physicalCapacityField.optional(),
    /** The share of each slot's energy a forecast misses by, one standard deviation (0.1: 10 %). */
    forecastErrorFraction: finite("forecast error", 0, 2).optional(),
    zones: z
      .array(z.strictObject({ id: idField, exportLimitWh: energyField, importLimitWh: energyField }))
      .optional(),
    representatives: z.array(z.strictObject({ id: idField, name: z.string().optional() })).optional(),
    households: z.array(householdSchema).min(1, { error: () => "is empty: a community needs households" }),
  })
  .superRefine((scenario, context) => {
    const issue = (path: (string | number)[], message: string): void => {
      context.addIssue({ code: "custom", path, message });
    };
    const ids = new Set<string>();
    const zoneIds = new Set((scenario.zones ?? []).map((zone) => zone.id));
    const representativeIds = new Set((scenario.representatives ?? []).map((rep) => rep.id));
    scenario.households.forEach((household, h) => {
      if (ids.has(household.id))
        issue(["households", h, "id"], `"${household.id}" is a duplicate household id`);
      ids.add(household.id);
      if (scenario.zones !== undefined && household.zone === undefined) {
        issue(
          ["households", h, "zone"],
          "is missing (every household names a zone when the scenario has zones)",
        );
      }
      if (household.zone !== undefined && !zoneIds.has(household.zone)) {
        issue(["households", h, "zone"], `"${household.zone}" is not one of the scenario's zones`);
      }
      if (household.representative !== undefined) {
        if (!representativeIds.has(household.representative)) {
          issue(
            ["households", h, "representative"],
            `"${household.representative}" is not one of the scenario's representatives`,
          );
        }
        if (scenario.roles === "S1" || scenario.roles === "S4") {
          issue(["households", h, "representative"], `scenario ${scenario.roles} has no representatives`);
        }
      }
      const capacityWh = physicalCapacityWhOf(scenario, household);
      if (household.connectionCapWh !== undefined && household.connectionCapWh > capacityWh) {
        issue(
          ["households", h, "connectionCapWh"],
          `${household.connectionCapWh} Wh is above what the connection can physically carry, ${capacityWh} Wh per slot (physicalCapacityW)`,
        );
      }
      const heatPump = household.assets.heatPump;
      if (heatPump !== undefined && heatPump.minTemperatureC >= heatPump.maxTemperatureC) {
        issue(
          ["households", h, "assets", "heatPump", "minTemperatureC"],
          `${heatPump.minTemperatureC} is not below maxTemperatureC ${heatPump.maxTemperatureC}`,
        );
      }
    });
    scenario.households.forEach((household, h) => {
      household.preferences?.offers?.forEach((offer, o) => {
        if (!ids.has(offer.partner))
          issue(
            ["households", h, "preferences", "offers", o, "partner"],
            `"${offer.partner}" is not a household of the scenario`,
          );
      });
      household.preferences?.accepts?.forEach((accept, a) => {
        if (!ids.has(accept.partner))
          issue(
            ["households", h, "preferences", "accepts", a, "partner"],
            `"${accept.partner}" is not a household of the scenario`,
          );
      });
    });
    const bands =
      "timeOfUse" in scenario.tariff
        ? scenario.tariff.timeOfUse
        : [{ ...scenario.tariff, fromHour: 0, toHour: 24 }];
    bands.forEach((band, b) => {
      const path = "timeOfUse" in scenario.tariff ? ["tariff", "timeOfUse", b] : ["tariff"];
      if (band.feedIn > band.retail)
        issue([...path, "feedIn"], `${band.feedIn} is above the retail price ${band.retail}`);
      if (band.fromHour >= band.toHour)
        issue([...path, "fromHour"], `${band.fromHour} is not before toHour ${band.toHour}`);
    });
    if ("timeOfUse" in scenario.tariff) {
      const covered = new Array<number>(24).fill(0);
      for (const band of scenario.tariff.timeOfUse) {
        for (let hour = band.fromHour; hour < band.toHour; hour++) covered[hour] = (covered[hour] ?? 0) + 1;
      }
      const hour = covered.findIndex((count) => count !== 1);
      if (hour >= 0)
        issue(["tariff", "timeOfUse"], `hour ${hour} is covered by ${covered[hour]} bands, not exactly one`);
    }
  });

/** A validated scenario. */
export type Scenario = z.infer<typeof scenarioSchema> & {
  readonly site: Site;
  readonly households: readonly (z.infer<typeof householdSchema> & { readonly assets: HouseholdAssets })[];
};
export type ScenarioHousehold = Scenario["households"][number];

/** Parses a scenario document. @throws {@link ValidationError} naming the JSON path of every problem. */
export function parseScenario(value: unknown): Scenario {
  return parseWith(scenarioSchema, value) as Scenario;
}

/**
 * What a household's connection can physically carry in one slot of the scenario, Wh: its fuse
 * rating (else the scenario's, else {@link DEFAULT_PHYSICAL_CAPACITY_W}) over the slot, floored. The
 * bound billing and the nodes hold its meter's readings to; its trading cap is `connectionCapWh`.
 */
export function physicalCapacityWhOf(
  scenario: Pick<Scenario, "slotMinutes" | "physicalCapacityW">,
  household: Pick<ScenarioHousehold, "physicalCapacityW">,
): number {
  const watts = household.physicalCapacityW ?? scenario.physicalCapacityW ?? DEFAULT_PHYSICAL_CAPACITY_W;
  return Math.floor((watts * scenario.slotMinutes) / 60);
}

/** The tariff of the slot starting at `startMs` (UTC hours pick the time-of-use band). */
export function tariffAt(
  scenario: Scenario,
  startMs: number,
): { feedIn: number; retail: number; networkFee: number } {
  const tariff = scenario.tariff;
  if (!("timeOfUse" in tariff)) return tariff;
  const hour = new Date(startMs).getUTCHours();
  const band = tariff.timeOfUse.find((candidate) => hour >= candidate.fromHour && hour < candidate.toHour);
  if (band === undefined) throw new RangeError(`no tariff band covers hour ${hour}`); // validation rules it out
  return { feedIn: band.feedIn, retail: band.retail, networkFee: band.networkFee };
}
