import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../validation/index.ts";
import { seededRandom } from "./random.ts";
import { sunAt } from "./solar.ts";
import { syntheticProfiles } from "./synthetic.ts";
import type { HouseholdAssets, Site, SlotEnergy, TimeGrid } from "./types.ts";

const site: Site = { latitudeDeg: 51, longitudeDeg: 10, meanTemperatureC: 9.5, cloudiness: 0.55 };
/** The year 2026 in German civil time, 15-min slots. */
const year: TimeGrid = { startMs: Date.UTC(2025, 11, 31, 23), slotMinutes: 15, slotCount: 35_040 };
const week = (slotMinutes: 15 | 30): TimeGrid => ({
  startMs: year.startMs,
  slotMinutes,
  slotCount: (7 * 24 * 60) / slotMinutes,
});

const ev = { batteryKwh: 60, chargerKw: 11, arrivalHour: 18, departureHour: 7, dailyKwh: 10 };
const heatPump = {
  heatLossWPerK: 180,
  thermalCapacityKwhPerK: 12,
  ratedKw: 3,
  minTemperatureC: 20,
  maxTemperatureC: 22,
};
const community: { id: string; assets: HouseholdAssets }[] = [
  { id: "south", assets: { annualKwh: 3500, pv: { kWp: 5, tiltDeg: 35, azimuthDeg: 0 }, ev, heatPump } },
  { id: "north", assets: { annualKwh: 2500, pv: { kWp: 5, tiltDeg: 35, azimuthDeg: 180 } } },
  { id: "plain", assets: { annualKwh: 4500 } },
];

const slotsOf = (source: { slot(index: number): readonly SlotEnergy[] }, count: number): SlotEnergy[][] =>
  Array.from({ length: count }, (_, index) => [...source.slot(index)]);

/** The community over 2026, summed the ways the tests look at it. */
const yearStats = (() => {
  const source = syntheticProfiles(community, site, year, seededRandom(2026));
  const totals = community.map(() => ({ loadWh: 0, pvWh: 0, evWh: 0, heatPumpWh: 0 }));
  const southPvByMonthWh = new Array<number>(12).fill(0);
  const heatPumpByMonthWh = new Array<number>(12).fill(0);
  const southPvByUtcQuarterWh = new Array<number>(96).fill(0);
  let nightPvWh = 0;
  let integers = true;
  for (let index = 0; index < year.slotCount; index++) {
    const startMs = year.startMs + index * 900_000;
    const energies = source.slot(index);
    energies.forEach((energy, h) => {
      const total = totals[h] as (typeof totals)[number];
      for (const key of ["loadWh", "pvWh", "evWh", "heatPumpWh"] as const) {
        integers &&= Number.isInteger(energy[key]) && energy[key] >= 0;
        total[key] += energy[key];
      }
    });
    const south = energies[0] as SlotEnergy;
    const month = new Date(startMs + 3_600_000).getUTCMonth();
    southPvByMonthWh[month] = (southPvByMonthWh[month] as number) + south.pvWh;
    heatPumpByMonthWh[month] = (heatPumpByMonthWh[month] as number) + south.heatPumpWh;
    const quarter = (index + 92) % 96; // the year starts at 23:00 UTC
    southPvByUtcQuarterWh[quarter] = (southPvByUtcQuarterWh[quarter] as number) + south.pvWh;
    const dark = [0, 450_000, 900_000].every((offsetMs) => sunAt(startMs + offsetMs, 51, 10).up < 0);
    if (dark) nightPvWh += south.pvWh + (energies[1] as SlotEnergy).pvWh;
  }
  return { totals, southPvByMonthWh, heatPumpByMonthWh, southPvByUtcQuarterWh, nightPvWh, integers };
})();

describe("synthetic profiles over a year", () => {
  it("are whole, non-negative Wh", () => {
    assert.ok(yearStats.integers, "every value a non-negative integer");
  });

  it("keep each household's load within a few percent of its annual consumption", () => {
    community.forEach(({ id, assets }, h) => {
      const loadKwh = (yearStats.totals[h]?.loadWh as number) / 1000;
      assert.ok(Math.abs(loadKwh / assets.annualKwh - 1) < 0.03, `${id}: ${loadKwh} kWh`);
    });
  });

  it("produce PV only by day, peaking near solar noon", () => {
    assert.equal(yearStats.nightPvWh, 0);
    const peakQuarter = yearStats.southPvByUtcQuarterWh.indexOf(Math.max(...yearStats.southPvByUtcQuarterWh));
    // At 10° E solar noon is about 11:20 UTC.
    assert.ok(Math.abs(peakQuarter * 15 + 7.5 - (11 * 60 + 20)) <= 45, `peak at quarter ${peakQuarter} UTC`);
  });

  it("yield a plausible German PV year, more in June than December, more facing south than north", () => {
    const [south, north] = yearStats.totals;
    const yieldKwhPerKwp = (south?.pvWh as number) / 1000 / 5;
    assert.ok(yieldKwhPerKwp > 850 && yieldKwhPerKwp < 1100, `${yieldKwhPerKwp} kWh/kWp`);
    assert.ok((south?.pvWh as number) > 1.3 * (north?.pvWh as number), "south against north");
    const [june, december] = [
      yearStats.southPvByMonthWh[5] as number,
      yearStats.southPvByMonthWh[11] as number,
    ];
    assert.ok(june > 2.5 * december, `June ${june} Wh, December ${december} Wh`);
  });

  it("charge the EV about its daily energy per day", () => {
    const perDayKwh = (yearStats.totals[0]?.evWh as number) / 1000 / 365;
    assert.ok(Math.abs(perDayKwh / ev.dailyKwh - 1) < 0.05, `${perDayKwh} kWh per day`);
    assert.equal(yearStats.totals[1]?.evWh, 0);
  });

  it("run the heat pump much more in January than in July", () => {
    const [january, july] = [
      yearStats.heatPumpByMonthWh[0] as number,
      yearStats.heatPumpByMonthWh[6] as number,
    ];
    assert.ok(january > 300_000, `January ${january} Wh`);
    // Heating stops on warm days; a cool spell in July may still switch it on for a few days.
    assert.ok(july < 0.2 * january, `July ${july} Wh against January ${january} Wh`);
  });
});

describe("synthetic profiles: seeds, households and slots", () => {
  const weekOf = (households: typeof community, seed: number, slotMinutes: 15 | 30 = 15) =>
    slotsOf(
      syntheticProfiles(households, site, week(slotMinutes), seededRandom(seed)),
      week(slotMinutes).slotCount,
    );

  it("repeat for the same seed and differ for another", () => {
    assert.deepEqual(weekOf(community, 7), weekOf(community, 7));
    assert.notDeepEqual(weekOf(community, 7), weekOf(community, 8));
  });

  it("leave the other households unchanged when one is added", () => {
    const newcomer = {
      id: "newcomer",
      assets: { annualKwh: 3000, pv: { kWp: 8, tiltDeg: 20, azimuthDeg: -90 } },
    };
    const before = weekOf(community, 7);
    const after = weekOf([newcomer, ...community], 7).map((slot) => slot.slice(1));
    assert.deepEqual(after, before);
  });

  it("differ between households with the same assets", () => {
    const twins = [
      { id: "a", assets: { annualKwh: 3500 } },
      { id: "b", assets: { annualKwh: 3500 } },
    ];
    const slots = weekOf(twins, 7);
    assert.ok(
      slots.some(([a, b]) => a?.loadWh !== b?.loadWh),
      "twins differ",
    );
  });

  it("cover 30-minute slots with the two quarter-hours' energy", () => {
    // Under a cloudless sky the weather draws do not matter, and both grids sample the sun at the same instants.
    const clear = { ...site, cloudiness: 0 };
    const weekSums = (slotMinutes: 15 | 30) => {
      const grid = week(slotMinutes);
      const source = syntheticProfiles(community, clear, grid, seededRandom(7));
      const sums = { slots: 0, loadWh: 0, pvWh: 0 };
      for (let index = 0; index < grid.slotCount; index++) {
        const [south, , plain] = source.slot(index);
        sums.slots += 1;
        sums.loadWh += plain?.loadWh as number;
        sums.pvWh += south?.pvWh as number;
      }
      return sums;
    };
    const [half, quarter] = [weekSums(30), weekSums(15)];
    assert.equal(half.slots * 2, quarter.slots);
    assert.ok(Math.abs(half.pvWh - quarter.pvWh) <= 2, `PV ${half.pvWh} Wh against ${quarter.pvWh} Wh`);
    const loadRatio = half.loadWh / quarter.loadWh;
    assert.ok(Math.abs(loadRatio - 1) < 0.1, `a week's load differs by a factor ${loadRatio}`);
  });

  it("are asked for in ascending order; skipped slots are generated on the way", () => {
    const direct = syntheticProfiles(community, site, week(15), seededRandom(7));
    const skipping = syntheticProfiles(community, site, week(15), seededRandom(7));
    const expected = slotsOf(direct, 10)[9];
    assert.deepEqual(skipping.slot(9), expected);
    assert.throws(() => skipping.slot(3), RangeError);
    assert.throws(() => skipping.slot(week(15).slotCount), RangeError);
  });

  it("reject inputs outside the models' domain, naming each field", () => {
    const cases: [[readonly { id: string; assets: HouseholdAssets }[], Site, TimeGrid], string][] = [
      [[[{ id: "a", assets: { annualKwh: -1 } }], site, year], "households[0].assets.annualKwh"],
      [
        [[{ id: "a", assets: { annualKwh: 1, pv: { kWp: 5, tiltDeg: 95, azimuthDeg: 0 } } }], site, year],
        "households[0].assets.pv.tiltDeg",
      ],
      [
        [[{ id: "a", assets: { annualKwh: 1, heatPump: { ...heatPump, minTemperatureC: 23 } } }], site, year],
        "households[0].assets.heatPump.minTemperatureC",
      ],
      [
        [[{ id: "a", assets: { annualKwh: 1, ev: { ...ev, chargerKw: 0 } } }], site, year],
        "households[0].assets.ev.chargerKw",
      ],
      [[[community[2], community[2]] as typeof community, site, year], "households[1].id"],
      [[community, { ...site, cloudiness: 1.5 }, year], "site.cloudiness"],
      [[community, site, { ...year, slotMinutes: 20 as 15 }], "grid.slotMinutes"],
    ];
    for (const [[households, badSite, grid], path] of cases) {
      assert.throws(
        () => syntheticProfiles(households, badSite, grid, seededRandom(1)),
        (error: unknown) =>
          error instanceof ValidationError && error.issues.some((issue) => issue.path === path),
        path,
      );
    }
  });
});
