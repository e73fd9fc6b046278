import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { germanLocalTime } from "./calendar.ts";
import { EvCharger } from "./ev.ts";
import { seededRandom } from "./random.ts";
import type { EvAssets } from "./types.ts";

const SLOT_MS = 900_000;
const START_MS = Date.UTC(2025, 11, 31, 23);
const DAYS = 365;

/** A year of 15-min slots of one EV: energy per slot, Wh. */
const yearOfCharging = (ev: EvAssets, seed = 1): number[] => {
  const charger = new EvCharger(ev, START_MS, seededRandom(seed).fork("ev:h"));
  return Array.from({ length: DAYS * 96 }, (_, slot) =>
    charger.slotWh(START_MS + slot * SLOT_MS, START_MS + (slot + 1) * SLOT_MS),
  );
};

/** Energy of each uninterrupted run of charging, Wh. */
const sessions = (slots: readonly number[]): number[] => {
  const runs: number[] = [];
  let running = false;
  for (const wh of slots) {
    if (wh > 0 && !running) runs.push(0);
    if (wh > 0) runs[runs.length - 1] = (runs.at(-1) as number) + wh;
    running = wh > 0;
  }
  return runs;
};

const commuter: EvAssets = { batteryKwh: 60, chargerKw: 11, arrivalHour: 18, departureHour: 7, dailyKwh: 12 };

describe("EV home charging", () => {
  it("charges about the daily energy per day, never above the charger's power", () => {
    for (const seed of [1, 2, 3]) {
      const slots = yearOfCharging(commuter, seed);
      const perDayKwh = slots.reduce((a, b) => a + b, 0) / 1000 / DAYS;
      assert.ok(Math.abs(perDayKwh / commuter.dailyKwh - 1) < 0.05, `${perDayKwh} kWh per day`);
      for (const wh of slots)
        assert.ok(wh >= 0 && wh <= commuter.chargerKw * 250 + 1e-9, `${wh} Wh in a slot`);
    }
  });

  it("charges in the evening and night, while the car is at home", () => {
    yearOfCharging(commuter).forEach((wh, slot) => {
      const hour = germanLocalTime(START_MS + slot * SLOT_MS).minuteOfDay / 60;
      if (hour >= 10 && hour < 15) assert.equal(wh, 0, `charging at ${hour} h`);
    });
  });

  it("never charges a session beyond the battery's capacity", () => {
    const longDrives: EvAssets = { ...commuter, batteryKwh: 40, dailyKwh: 80 };
    const runs = sessions(yearOfCharging(longDrives));
    assert.ok(runs.length > 300, `${runs.length} sessions`);
    for (const wh of runs) assert.ok(wh <= 40_000 + 1e-6, `${wh} Wh in one session`);
  });

  it("carries a shortfall over when the charger is too slow, bounded by power × plugged time", () => {
    const slowCharger: EvAssets = { ...commuter, chargerKw: 1.4, dailyKwh: 20 };
    const slots = yearOfCharging(slowCharger);
    for (const wh of slots) assert.ok(wh <= 1.4 * 250 + 1e-9, `${wh} Wh in a slot`);
    const perDayKwh = slots.reduce((a, b) => a + b, 0) / 1000 / DAYS;
    assert.ok(perDayKwh < 1.4 * 14 && perDayKwh > 1.4 * 10, `${perDayKwh} kWh per day at 1.4 kW`);
  });
});
