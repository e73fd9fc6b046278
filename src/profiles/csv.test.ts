import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../test/support/property.ts";
import { MAX_ENERGY_WH } from "../units/index.ts";
import { ValidationError } from "../validation/index.ts";
import { csvProfiles } from "./csv.ts";
import { seededRandom } from "./random.ts";
import { syntheticProfiles } from "./synthetic.ts";
import type { TimeGrid } from "./types.ts";

const START_MS = Date.parse("2026-01-01T00:00:00Z");
const grid: TimeGrid = { startMs: START_MS, slotMinutes: 15, slotCount: 2 };
const HEADER = "timestamp,household,importWh,exportWh";

/** A timestamp written in another zone, `offsetMinutes` ahead of UTC. */
const zoned = (ms: number, offsetMinutes: number): string => {
  if (offsetMinutes === 0) return new Date(ms).toISOString().replace(".000Z", "Z");
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const hours = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, "0");
  return `${local}${sign}${hours}:${String(Math.abs(offsetMinutes) % 60).padStart(2, "0")}`;
};

describe("CSV meter series", () => {
  it("read back what was written, in any row and column order, zone and line ending", () => {
    const series = fc
      .record({
        slotMinutes: fc.constantFrom(15 as const, 30 as const),
        slotCount: fc.integer({ min: 1, max: 12 }),
        households: fc.uniqueArray(fc.stringMatching(/^[a-z]([a-z0-9 ,"-]{0,6}[a-z0-9])?$/), {
          minLength: 1,
          maxLength: 4,
        }),
      })
      .chain(({ slotMinutes, slotCount, households }) =>
        fc.record({
          grid: fc.constant<TimeGrid>({ startMs: START_MS, slotMinutes, slotCount }),
          households: fc.constant(households),
          values: fc.array(
            fc.array(fc.tuple(fc.oneof(fc.nat(50_000), fc.constant(MAX_ENERGY_WH)), fc.nat(50_000)), {
              minLength: slotCount,
              maxLength: slotCount,
            }),
            { minLength: households.length, maxLength: households.length },
          ),
          offsetMinutes: fc.constantFrom(0, 60, 120, -330),
          order: fc.array(fc.nat(), {
            minLength: households.length * slotCount,
            maxLength: households.length * slotCount,
          }),
          columns: fc.shuffledSubarray(["timestamp", "household", "importWh", "exportWh"], { minLength: 4 }),
          newline: fc.constantFrom("\n", "\r\n"),
        }),
      );
    checkProperty(
      fc.property(series, ({ grid: g, households, values, offsetMinutes, order, columns, newline }) => {
        const rows = households.flatMap((household, h) =>
          (values[h] ?? []).map(([importWh, exportWh], slot) => {
            const cells: Record<string, string> = {
              timestamp: zoned(g.startMs + slot * g.slotMinutes * 60_000, offsetMinutes),
              household: `"${household.replaceAll('"', '""')}"`,
              importWh: String(importWh),
              exportWh: String(exportWh),
            };
            return columns.map((column) => cells[column]).join(",");
          }),
        );
        // Shuffle the rows, keeping each household's first row first so the household order is known.
        const firstRows = households.map((_, h) => rows[h * g.slotCount] as string);
        const rest = rows.filter((_, r) => r % g.slotCount !== 0);
        const shuffled = rest
          .map((row, r) => ({ row, key: order[r] ?? 0 }))
          .sort((a, b) => a.key - b.key)
          .map(({ row }) => row);
        const text = [columns.join(","), ...firstRows, ...shuffled, ""].join(newline);
        const source = csvProfiles(text, g);
        assert.deepEqual(source.householdIds, households);
        for (let slot = 0; slot < g.slotCount; slot++) {
          assert.deepEqual(
            source.slot(slot),
            households.map((_, h) => {
              const [loadWh, pvWh] = values[h]?.[slot] ?? [0, 0];
              return { loadWh, pvWh, evWh: 0, heatPumpWh: 0 };
            }),
          );
        }
      }),
      0.5,
    );
  });

  it("carry a synthetic community's meter readings", () => {
    const day: TimeGrid = { startMs: START_MS, slotMinutes: 15, slotCount: 96 };
    const households = [
      { id: "alice", assets: { annualKwh: 3000, pv: { kWp: 6, tiltDeg: 30, azimuthDeg: 0 } } },
      { id: "bob", assets: { annualKwh: 4000 } },
    ];
    const site = { latitudeDeg: 50.85, longitudeDeg: 4.35, meanTemperatureC: 10.5, cloudiness: 0.55 };
    const synthetic = syntheticProfiles(households, site, day, seededRandom(3));
    const rows: string[] = [];
    const expected = Array.from({ length: day.slotCount }, (_, slot) => {
      const energies = synthetic.slot(slot);
      energies.forEach((energy, h) => {
        const timestamp = new Date(START_MS + slot * 900_000).toISOString();
        rows.push(`${timestamp},${households[h]?.id},${energy.loadWh},${energy.pvWh}`);
      });
      return energies;
    });
    // Last slot first: bob's rows come first, so the households are read in the order bob, alice.
    const source = csvProfiles([HEADER, ...rows.reverse()].join("\n"), day);
    assert.deepEqual(source.householdIds, ["bob", "alice"]);
    expected.forEach((energies, slot) => {
      assert.deepEqual(source.slot(slot), [...energies].reverse());
    });
  });

  const bad: [string, string, string, string][] = [
    [
      "a negative reading",
      `${HEADER}\n2026-01-01T00:00:00Z,h1,-3,0`,
      "line 2, importWh",
      '"-3" is not a non-negative integer Wh',
    ],
    [
      "a fraction",
      `${HEADER}\n2026-01-01T00:00:00Z,h1,3,1.5`,
      "line 2, exportWh",
      '"1.5" is not a non-negative integer Wh',
    ],
    [
      "too much energy",
      `${HEADER}\n2026-01-01T00:00:00Z,h1,4294967296,0`,
      "line 2, importWh",
      "above the per-slot maximum",
    ],
    ["a time off the grid", `${HEADER}\n2026-01-01T00:07:00Z,h1,3,0`, "line 2, timestamp", "is off the grid"],
    [
      "a time after the grid",
      `${HEADER}\n2026-01-01T00:30:00Z,h1,3,0`,
      "line 2, timestamp",
      "is outside the grid",
    ],
    [
      "a time without a zone",
      `${HEADER}\n2026-01-01T00:00:00,h1,3,0`,
      "line 2, timestamp",
      "not an ISO 8601 time with a zone",
    ],
    [
      "a day that does not exist",
      `${HEADER}\n2026-02-30T00:00:00Z,h1,3,0`,
      "line 2, timestamp",
      '"2026-02-30T00:00:00Z" is not',
    ],
    ["an empty household", `${HEADER}\n2026-01-01T00:00:00Z,,3,0`, "line 2, household", "is empty"],
    ["a missing field", `${HEADER}\n2026-01-01T00:00:00Z,h1,3`, "line 2", "has 3 fields, the header has 4"],
    [
      "an unclosed quote",
      `${HEADER}\n2026-01-01T00:00:00Z,"h1,3,0`,
      "line 2",
      "has a quote that is not closed",
    ],
    [
      "a duplicate row",
      `${HEADER}\n2026-01-01T00:00:00Z,h1,3,0\n2026-01-01T00:15:00Z,h1,3,0\n2026-01-01T01:00:00+01:00,h1,4,0`,
      "line 4",
      'duplicates line 2: household "h1" at 2026-01-01T00:00:00.000Z',
    ],
    [
      "a missing slot",
      `${HEADER}\n2026-01-01T00:00:00Z,h1,3,0\n2026-01-01T00:00:00Z,h2,3,0\n2026-01-01T00:15:00Z,h2,3,0`,
      'household "h1" (first on line 2)',
      "is missing slot 2026-01-01T00:15:00.000Z",
    ],
    [
      "an unknown column",
      "timestamp,household,power,importWh,exportWh\n",
      "line 1",
      '"power" is an unknown column',
    ],
    ["a missing column", "timestamp,household,importWh\n", "line 1", 'lacks the column "exportWh"'],
    ["a duplicate column", `${HEADER},importWh\n`, "line 1", '"importWh" is a duplicate column'],
    ["an empty file", "", "line 1", "is empty"],
    ["no rows", `${HEADER}\n\n`, "(input)", "has no data rows"],
  ];
  for (const [what, text, path, message] of bad) {
    it(`reject ${what}, naming the line`, () => {
      assert.throws(
        () => csvProfiles(text, grid),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.issues.some((issue) => issue.path === path && issue.message.includes(message)),
        `${what}: expected ${path}: …${message}…`,
      );
    });
  }

  it("reject a bad grid, and list at most 100 problems of a broken file", () => {
    assert.throws(
      () => csvProfiles(HEADER, { ...grid, slotCount: -1 }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === "grid.slotCount",
      "grid.slotCount",
    );
    const broken = [HEADER, ...Array.from({ length: 150 }, () => "2026-01-01T00:00:00Z,h1,-1,0")].join("\n");
    assert.throws(
      () => csvProfiles(broken, grid),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.length === 101 &&
        error.issues[100]?.message === "has 50 more problems",
      "capped list of problems",
    );
  });
});
