/**
 * Prices that change with the hour of the day, as a supplier's tariff file and the DSO's network
 * file give them: one flat set of values (`{"feedIn": 500, "retail": 2800}`), or time-of-use bands
 * (`{"timeOfUse": [{"fromHour": 0, "toHour": 6, "feedIn": 400, "retail": 2200}, …]}`) in UTC hours,
 * `fromHour` inclusive and `toHour` exclusive, covering each hour of the day exactly once — as a
 * scenario's tariff does.
 * @module
 */
import { z } from "zod";
import { integerField } from "../validation/index.ts";

const hourField = integerField(0, 24, "not an hour of the day (0..24)", "not an hour of the day (0..24)");

/** A flat set of values or time-of-use bands of them. */
export type TimeOfUse<T> = T | { readonly timeOfUse: readonly (T & { fromHour: number; toHour: number })[] };

/**
 * The schema of `values` flat or in time-of-use bands, with the bands' coverage checked, beside the
 * file's `other` fields.
 */
export function timeOfUseSchema<
  Shape extends z.core.$ZodLooseShape,
  Other extends z.core.$ZodLooseShape = Record<string, never>,
>(
  values: Shape,
  other: Other = {} as Other,
): z.ZodType<TimeOfUse<z.infer<z.ZodObject<Shape>>> & z.infer<z.ZodObject<Other>>> {
  const flat = z.strictObject({ ...values, ...other });
  const band = z.strictObject({ ...values, fromHour: hourField, toHour: hourField });
  return z
    .union([flat, z.strictObject({ timeOfUse: z.array(band).min(1, { error: "is empty" }), ...other })], {
      error: () => `is neither flat values {${Object.keys(values).join(", ")}} nor {timeOfUse: [...]}`,
    })
    .superRefine((schedule, context) => {
      if (!("timeOfUse" in schedule)) return;
      const covered = new Array<number>(24).fill(0);
      (schedule.timeOfUse as { fromHour: number; toHour: number }[]).forEach(({ fromHour, toHour }, b) => {
        if (fromHour >= toHour)
          context.addIssue({
            code: "custom",
            path: ["timeOfUse", b, "fromHour"],
            message: `${fromHour} is not before toHour ${toHour}`,
          });
        for (let hour = fromHour; hour < toHour; hour++) covered[hour] = (covered[hour] ?? 0) + 1;
      });
      const hour = covered.findIndex((count) => count !== 1);
      if (hour >= 0)
        context.addIssue({
          code: "custom",
          path: ["timeOfUse"],
          message: `hour ${hour} is covered by ${covered[hour]} bands, not exactly one`,
        });
    }) as unknown as z.ZodType<TimeOfUse<z.infer<z.ZodObject<Shape>>> & z.infer<z.ZodObject<Other>>>;
}

/** The values of the slot starting at `startMs` (its UTC hour picks the band). */
export function valuesAt<T extends object>(schedule: TimeOfUse<T>, startMs: number): T {
  if (!("timeOfUse" in schedule)) return schedule;
  const hour = new Date(startMs).getUTCHours();
  const band = schedule.timeOfUse.find((entry) => hour >= entry.fromHour && hour < entry.toHour);
  if (band === undefined) throw new RangeError(`no band covers hour ${hour}`); // the schema rules it out
  const { fromHour: _, toHour: __, ...values } = band;
  return values as unknown as T;
}
