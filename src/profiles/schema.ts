/**
 * What the profile generators accept: a time grid, a site and households whose assets lie in the
 * domain of the models (finite, physical, divisors positive). Problems are reported as a
 * `ValidationError` naming each field by its path (`households[2].assets.pv.tiltDeg`).
 * @module
 */
import { z } from "zod";
import { idField, parseWith } from "../validation/index.ts";
import type { HouseholdAssets, Site, TimeGrid } from "./types.ts";

/** How a bad value reads in a message: `NaN` and `Infinity` as themselves, an absent field as `missing`. */
const shown = (input: unknown): string =>
  typeof input === "number" ? String(input) : (JSON.stringify(input) ?? "missing");

/** A finite number in `[min, max]`; `unit` finishes the message. */
const numberIn = (min: number, max: number, unit: string): z.ZodNumber =>
  z
    .number({ error: (issue) => `${shown(issue.input)} is not a number` })
    .min(min, { error: (issue) => `${shown(issue.input)} is below ${min} ${unit}` })
    .max(max, { error: (issue) => `${shown(issue.input)} is above ${max} ${unit}` });

/** A finite number in `(0, max]`: the models divide by it. */
const positive = (max: number, unit: string): z.ZodNumber =>
  numberIn(0, max, unit).gt(0, { error: (issue) => `${shown(issue.input)} is not positive (${unit})` });

const gridSchema = z.object({
  startMs: z
    .number({ error: (issue) => `${shown(issue.input)} is not a number` })
    .int({ error: (issue) => `${shown(issue.input)} is not a whole number of milliseconds` }),
  slotMinutes: z.union([z.literal(15), z.literal(30)], { error: () => "is not 15 or 30" }),
  slotCount: z
    .number({ error: (issue) => `${shown(issue.input)} is not a number` })
    .int({ error: (issue) => `${shown(issue.input)} is not a whole number of slots` })
    .min(0, { error: (issue) => `${shown(issue.input)} is negative` }),
});

const siteSchema = z.object({
  latitudeDeg: numberIn(-90, 90, "degrees"),
  longitudeDeg: numberIn(-180, 180, "degrees"),
  meanTemperatureC: numberIn(-60, 60, "°C"),
  cloudiness: numberIn(0, 1, "(cloudiness is a share)"),
});

const assetsSchema = z.object({
  annualKwh: numberIn(0, 1e7, "kWh"),
  pv: z
    .object({
      kWp: numberIn(0, 1e5, "kWp"),
      tiltDeg: numberIn(0, 90, "degrees"),
      azimuthDeg: numberIn(-180, 180, "degrees"),
      lossFraction: numberIn(0, 1, "(a share)").optional(),
    })
    .optional(),
  ev: z
    .object({
      batteryKwh: positive(1e4, "kWh"),
      chargerKw: positive(1e4, "kW"),
      arrivalHour: numberIn(0, 24, "hours"),
      departureHour: numberIn(0, 24, "hours"),
      dailyKwh: numberIn(0, 1e4, "kWh"),
    })
    .optional(),
  heatPump: z
    .object({
      heatLossWPerK: positive(1e6, "W/K"),
      thermalCapacityKwhPerK: positive(1e6, "kWh/K"),
      ratedKw: positive(1e4, "kW"),
      minTemperatureC: numberIn(0, 40, "°C"),
      maxTemperatureC: numberIn(0, 40, "°C"),
    })
    .optional(),
});

const inputSchema = z
  .object({
    households: z.array(z.object({ id: idField, assets: assetsSchema }), {
      error: () => "is not a list of households",
    }),
    site: siteSchema,
    grid: gridSchema,
  })
  .superRefine((input, context) => {
    const ids = new Set<string>();
    input.households.forEach((household, h) => {
      if (ids.has(household.id)) {
        context.addIssue({
          code: "custom",
          path: ["households", h, "id"],
          message: `"${household.id}" is a duplicate household id`,
        });
      }
      ids.add(household.id);
      const heatPump = household.assets.heatPump;
      if (heatPump !== undefined && heatPump.minTemperatureC >= heatPump.maxTemperatureC) {
        context.addIssue({
          code: "custom",
          path: ["households", h, "assets", "heatPump", "minTemperatureC"],
          message: `${heatPump.minTemperatureC} is not below maxTemperatureC ${heatPump.maxTemperatureC}`,
        });
      }
    });
  });

/** Checks the inputs of the synthetic generator. @throws {@link ValidationError} listing every problem. */
export function checkSyntheticInputs(
  households: readonly { readonly id: string; readonly assets: HouseholdAssets }[],
  site: Site,
  grid: TimeGrid,
): void {
  parseWith(inputSchema, { households, site, grid });
}

/** Checks a time grid, reported under `grid`. @throws {@link ValidationError} listing every problem. */
export function checkGrid(grid: TimeGrid): void {
  parseWith(z.object({ grid: gridSchema }), { grid });
}
