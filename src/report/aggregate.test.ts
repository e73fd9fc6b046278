import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bucketSlots, MAX_POINTS, meanPerBucket, sumPerBucket, timeTicks } from "./aggregate.ts";

const SLOT_MS = 15 * 60_000;
const slotsFrom = (startIso: string, count: number): string[] =>
  Array.from({ length: count }, (_slot, index) =>
    new Date(Date.parse(startIso) + index * SLOT_MS).toISOString(),
  );

describe("bucketSlots", () => {
  it("keeps every slot of a short run as its own point", () => {
    const buckets = bucketSlots(slotsFrom("2026-06-01T00:00:00Z", 192));
    assert.equal(buckets.labels.length, 192);
    assert.equal(buckets.pointName, "one 15-min slot (UTC)");
    assert.equal(buckets.labels[5], "2026-06-01 01:15");
  });

  it("sums a year of 15-min slots into at most MAX_POINTS days and keeps the total", () => {
    const slots = slotsFrom("2026-01-01T00:00:00Z", 35_040);
    const volumesWh = slots.map((_slot, index) => (index * 7919) % 5003);
    const buckets = bucketSlots(slots);
    assert.ok(buckets.labels.length <= MAX_POINTS);
    assert.equal(buckets.pointName, "one day (UTC)");
    assert.equal(buckets.labels.length, 365);
    const total = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0);
    assert.equal(total(sumPerBucket(buckets, volumesWh)), total(volumesWh));
  });

  it("goes hourly for a month, weekly from Monday when days are too many", () => {
    assert.equal(bucketSlots(slotsFrom("2026-03-01T00:00:00Z", 2976)).pointName, "one hour (UTC)");
    const weeks = bucketSlots(slotsFrom("2026-01-01T00:00:00Z", 96 * 21), "day", 10);
    assert.equal(weeks.pointName, "one week (from Monday) (UTC)");
    // 2026-01-01 is a Thursday: the first week is short, the next ones start on Mondays.
    assert.deepEqual(weeks.labels, ["2026-01-01", "2026-01-05", "2026-01-12", "2026-01-19"]);
  });

  it("averages only the slots with a value and leaves a gap where none has one", () => {
    const buckets = bucketSlots(slotsFrom("2026-06-01T00:00:00Z", 8), "slot", 2);
    assert.deepEqual(meanPerBucket(buckets, [1000, null, 3000, null, null, null, null, null]), [2000, null]);
  });

  it("rejects a slot that is not a date", () => {
    assert.throws(() => bucketSlots(["2026-06-01T00:00:00Z", "noon"]), RangeError);
  });
});

describe("timeTicks", () => {
  it("labels round times: every 6 hours over two days, the 1st of each month over a year", () => {
    const twoDays = bucketSlots(slotsFrom("2026-06-01T00:00:00Z", 192));
    assert.deepEqual(
      timeTicks(twoDays, 8).map((index) => twoDays.labels[index]),
      ["00:00", "06:00", "12:00", "18:00"]
        .flatMap((time) => [`2026-06-01 ${time}`, `2026-06-02 ${time}`])
        .sort(),
    );
    const year = bucketSlots(slotsFrom("2026-01-01T00:00:00Z", 35_040));
    const months = timeTicks(year, 12).map((index) => year.labels[index]);
    assert.equal(months.length, 12);
    assert.ok(months.every((label) => label?.endsWith("-01")));
  });
});
