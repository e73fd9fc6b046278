import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { civilDate, dynamisationFactor, germanLocalTime, h0DayType, h0Season } from "./calendar.ts";
import { H0_KW_PER_MILLION_KWH } from "./data/h0.ts";
import { HouseholdLoad, h0DayWhPerKwh, QUARTERS_PER_DAY } from "./load.ts";
import { seededRandom } from "./random.ts";

const MS_PER_DAY = 86_400_000;
const daysOf = (year: number): number[] => {
  const first = Date.UTC(year, 0, 1) / MS_PER_DAY;
  return Array.from({ length: Date.UTC(year + 1, 0, 1) / MS_PER_DAY - first }, (_, i) => first + i);
};
const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};

describe("the BDEW H0 table", () => {
  it("holds 3 seasons × 3 day types × 96 positive quarter-hour values", () => {
    const series = Object.values(H0_KW_PER_MILLION_KWH).flatMap((season) => Object.values(season));
    assert.equal(series.length, 9);
    for (const values of series) {
      assert.equal(values.length, QUARTERS_PER_DAY);
      for (const kw of values) assert.ok(kw > 30 && kw < 250, `${kw} kW is a plausible H0 value`);
    }
  });

  it("adds up to 1,000,000 kWh over a real year, undynamised and dynamised", () => {
    for (const year of [2025, 2026]) {
      let plainKwh = 0;
      let dynamisedKwh = 0;
      for (const dayNumber of daysOf(year)) {
        const date = civilDate(dayNumber);
        const dayKwh = sum(H0_KW_PER_MILLION_KWH[h0Season(date)][h0DayType(date)]) / 4;
        plainKwh += dayKwh;
        dynamisedKwh += dayKwh * dynamisationFactor(date.dayOfYear);
      }
      assert.ok(Math.abs(plainKwh / 1e6 - 1) < 0.005, `${year} undynamised: ${plainKwh} kWh`);
      assert.ok(Math.abs(dynamisedKwh / 1e6 - 1) < 0.005, `${year} dynamised: ${dynamisedKwh} kWh`);
    }
  });

  it("dynamises each day: Wh per quarter-hour and kWh/a is the table value × F / 4000", () => {
    const goodFriday = Date.UTC(2026, 3, 3) / MS_PER_DAY;
    const shape = h0DayWhPerKwh(goodFriday);
    const sundayTransition = H0_KW_PER_MILLION_KWH.transition.sunday;
    const factor = dynamisationFactor(civilDate(goodFriday).dayOfYear);
    shape.forEach((wh, q) => {
      assert.ok(Math.abs(wh - ((sundayTransition[q] as number) * factor) / 4000) < 1e-12, `quarter ${q}`);
    });
  });
});

describe("a household's H0 load", () => {
  /** One household's load over 2026 in 15-min slots, kWh per day. */
  const yearOfLoad = (annualKwh: number, seed: number): number[] => {
    const load = new HouseholdLoad(annualKwh, 15, seededRandom(seed).fork("load:h"));
    const startMs = Date.UTC(2025, 11, 31, 23);
    const dailyKwh: number[] = [];
    let currentDay = Number.NaN;
    let shape: Float64Array = new Float64Array();
    for (let slot = 0; slot < 35_040; slot++) {
      const { dayNumber, minuteOfDay } = germanLocalTime(startMs + slot * 900_000);
      if (dayNumber !== currentDay) {
        currentDay = dayNumber;
        shape = h0DayWhPerKwh(dayNumber);
        load.startDay();
        dailyKwh.push(0);
      }
      const wh = load.slotWh([shape], [minuteOfDay / 15]);
      assert.ok(wh >= 0, `${wh} Wh`);
      dailyKwh[dailyKwh.length - 1] = (dailyKwh.at(-1) as number) + wh / 1000;
    }
    return dailyKwh;
  };

  it("scales to the annual consumption within a few percent over a year, whatever the seed", () => {
    for (const [annualKwh, seed] of [
      [1500, 1],
      [3500, 2],
      [6000, 3],
    ] as const) {
      const totalKwh = sum(yearOfLoad(annualKwh, seed));
      assert.ok(Math.abs(totalKwh / annualKwh - 1) < 0.03, `${totalKwh} kWh for ${annualKwh} kWh/a`);
    }
  });

  it("differs between households and from day to day", () => {
    const a = yearOfLoad(3500, 1);
    const b = yearOfLoad(3500, 2);
    assert.notDeepEqual(a, b);
    const januaryDays = a.slice(1, 20);
    assert.ok(Math.max(...januaryDays) - Math.min(...januaryDays) > 1, "days vary");
  });
});
