/**
 * Time buckets for the report's charts: per-slot series of a long run are summed or averaged into
 * the finest of slot, hour, day or week that keeps a chart under MAX_POINTS points; axis ticks fall
 * on round times (6:00, midnight, Monday, the 1st of a month).
 * @module
 */

import { MS_PER_MINUTE } from "../units/index.ts";
import { utcDay, utcMinute } from "./format.ts";

/** Most points a chart draws: beyond it a year of 15-min slots would weigh megabytes and read as noise. */
export const MAX_POINTS = 2000;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-01 was a Thursday: shifting by three days makes weeks start on Monday. */
const MONDAY_SHIFT_MS = 3 * DAY_MS;

interface Resolution {
  /** What one point is, for chart subtitles ("one point = one hour"). */
  readonly name: string;
  /** Bucket of a slot start (ms since the epoch); null keeps every slot on its own. */
  readonly keyOf: ((startMs: number) => number) | null;
  /** Label of a bucket from its first slot, in UTC. */
  readonly label: (startMs: number) => string;
}

const hourKey = (hours: number) => (ms: number) => Math.floor(ms / (hours * HOUR_MS));
const dayKey = (ms: number): number => Math.floor(ms / DAY_MS);
const weekKey = (ms: number): number => Math.floor((ms + MONDAY_SHIFT_MS) / WEEK_MS);
const monthKey = (ms: number): number => {
  const date = new Date(ms);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
};

/** Periods whose starts may carry an axis label, finest first. */
const TICK_KEYS: readonly ((ms: number) => number)[] = [
  ...[1, 2, 3, 6, 12].map(hourKey),
  dayKey,
  weekKey,
  monthKey,
  (ms) => Math.floor(monthKey(ms) / 3),
  (ms) => Math.floor(monthKey(ms) / 12),
];

const SLOT: Resolution = { name: "slot", keyOf: null, label: utcMinute };
const HOUR: Resolution = { name: "hour", keyOf: hourKey(1), label: utcMinute };
const DAY: Resolution = { name: "day", keyOf: dayKey, label: utcDay };
const WEEK: Resolution = { name: "week (from Monday)", keyOf: weekKey, label: utcDay };

/** Consecutive slots grouped into chart points. */
export interface Buckets {
  /** What one point is, e.g. "one hour (UTC)". */
  readonly pointName: string;
  /** One label per point: its first slot's start in UTC. */
  readonly labels: readonly string[];
  /** Start of each point's first slot, in ms since the epoch. */
  readonly startsMs: readonly number[];
  /** Index of each point's first slot, then the number of slots: point i covers [bounds[i], bounds[i+1]). */
  readonly bounds: readonly number[];
}

/**
 * Groups `slots` (ISO 8601 starts, in time order) into the finest resolution, no finer than `finest`,
 * that gives at most `maxPoints` points.
 * @throws RangeError when a slot is not a date.
 */
export function bucketSlots(
  slots: readonly string[],
  finest: "slot" | "day" = "slot",
  maxPoints = MAX_POINTS,
): Buckets {
  const startsMs = slots.map((slot) => {
    const ms = Date.parse(slot);
    if (Number.isNaN(ms)) throw new RangeError(`slot ${JSON.stringify(slot)} is not an ISO 8601 date`);
    return ms;
  });
  const candidates = finest === "slot" ? [SLOT, HOUR, DAY, WEEK] : [DAY, WEEK];
  const resolution =
    candidates.find((candidate) => boundsOf(startsMs, candidate).length - 1 <= maxPoints) ?? WEEK;
  const bounds = boundsOf(startsMs, resolution);
  return {
    pointName: `one ${resolution === SLOT ? slotName(startsMs) : resolution.name} (UTC)`,
    labels: bounds.slice(0, -1).map((first) => resolution.label(startsMs[first] as number)),
    startsMs: bounds.slice(0, -1).map((first) => startsMs[first] as number),
    bounds,
  };
}

function boundsOf(startsMs: readonly number[], resolution: Resolution): number[] {
  const bounds: number[] = [];
  let previousKey: number | undefined;
  for (const [index, ms] of startsMs.entries()) {
    const key = resolution.keyOf === null ? index : resolution.keyOf(ms);
    if (key !== previousKey) bounds.push(index);
    previousKey = key;
  }
  bounds.push(startsMs.length);
  return bounds;
}

/** "15-min slot" from the spacing of the first two slots; a lone slot has no spacing to tell. */
function slotName(startsMs: readonly number[]): string {
  const [first, second] = startsMs;
  if (first === undefined || second === undefined || second <= first) return "slot";
  const minutes = (second - first) / MS_PER_MINUTE;
  return minutes < 60 ? `${minutes}-min slot` : `${minutes / 60}-hour slot`;
}

/**
 * Indices of the points that start a round period (an hour, 6 hours, a day, a month…): the finest
 * kind of period giving at most `maxTicks` of them. A run of few points labels every point.
 */
export function timeTicks(buckets: Buckets, maxTicks: number): number[] {
  const { startsMs } = buckets;
  if (startsMs.length <= maxTicks) return startsMs.map((_start, index) => index);
  let ticks: number[] = [];
  for (const keyOf of TICK_KEYS) {
    // The first point counts when it starts its period exactly: it is then as round as the others.
    ticks = startsMs.flatMap((ms, index) =>
      keyOf(ms) !== keyOf(index === 0 ? ms - 1 : (startsMs[index - 1] as number)) ? [index] : [],
    );
    if (ticks.length <= maxTicks) break;
  }
  return ticks;
}

/** Sum of `values` over each bucket. */
export function sumPerBucket(buckets: Buckets, values: readonly number[]): number[] {
  return reducePerBucket(buckets, (first, end) => {
    let sum = 0;
    for (let index = first; index < end; index++) sum += values[index] ?? 0;
    return sum;
  });
}

/** Mean of the non-null `values` of each bucket; null where a bucket has none (a gap in the chart). */
export function meanPerBucket(buckets: Buckets, values: readonly (number | null)[]): (number | null)[] {
  return reducePerBucket(buckets, (first, end) => {
    let sum = 0;
    let count = 0;
    for (let index = first; index < end; index++) {
      const value = values[index];
      if (value === null || value === undefined) continue;
      sum += value;
      count++;
    }
    return count === 0 ? null : sum / count;
  });
}

function reducePerBucket<T>(buckets: Buckets, reduce: (first: number, end: number) => T): T[] {
  const { bounds } = buckets;
  const points: T[] = [];
  for (let point = 0; point + 1 < bounds.length; point++) {
    points.push(reduce(bounds[point] as number, bounds[point + 1] as number));
  }
  return points;
}
