import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../../validation/index.ts";
import { SlotCalendar } from "../broker/calendar.ts";
import { parseReadingsCsv } from "./csv-source.ts";

const calendar = new SlotCalendar({
  slotMinutes: 15,
  gateMinutes: 5,
  graceMinutes: 5,
  speed: 1,
  originMs: Date.parse("2026-06-01T00:00:00Z"),
  wallAtOriginMs: 0,
  slots: 96,
});
const meters = { registered: new Set(["m1", "m2", "m3"]), hosted: new Set(["m1", "m2"]) };
const parse = (text: string) => parseReadingsCsv(text, "readings.csv", meters, calendar);
const HEADER = "meter,slot,importWh,exportWh\n";

describe("a meter service's CSV series", () => {
  it("gives its hosted meters' readings by slot, in slot order, whatever the row and column order", () => {
    const bySlot = parse(
      "exportWh,meter,importWh,slot\n" +
        "0,m2,7,2026-06-01T00:15:00Z\n" +
        "5,m1,0,2026-06-01T02:00:00+02:00\n" +
        "\n" +
        '3,"m3",1,2026-06-01T00:00:00Z\n' +
        "0,m1,9,2026-06-01T00:15:00.000Z\n",
    );
    assert.deepEqual(
      [...bySlot],
      [
        [0, [{ meter: "m1", slot: "2026-06-01T00:00:00.000Z", importWh: 0, exportWh: 5 }]],
        [
          1,
          [
            { meter: "m2", slot: "2026-06-01T00:15:00.000Z", importWh: 7, exportWh: 0 },
            { meter: "m1", slot: "2026-06-01T00:15:00.000Z", importWh: 9, exportWh: 0 },
          ],
        ],
      ],
      "m3 is registered but hosted elsewhere: its row is checked and left out",
    );
  });

  const cases: [string, string, string[]][] = [
    [
      "an empty file",
      "",
      ["readings.csv: line 1: is empty: the header is meter,slot,importWh,exportWh (in any order)"],
    ],
    ["a header only", HEADER, ["readings.csv: has no readings"]],
    [
      "a header with an unknown and a missing column",
      "meter,slot,importWh,kWh\n",
      [
        'readings.csv: line 1: "kWh" is an unknown column: the header is meter,slot,importWh,exportWh (in any order)',
        'readings.csv: line 1: lacks the column "exportWh": the header is meter,slot,importWh,exportWh (in any order)',
      ],
    ],
    [
      "a duplicate column",
      "meter,slot,importWh,exportWh,meter\n",
      ['readings.csv: line 1: "meter" is a duplicate column'],
    ],
    [
      "a row with too few fields and one with an open quote",
      `${HEADER}m1,2026-06-01T00:00:00Z,5\n"m1,2026-06-01T00:00:00Z,5,0\n`,
      [
        "readings.csv: line 2: has 3 fields, the header has 4",
        "readings.csv: line 3: has a quote that is not closed",
      ],
    ],
    [
      "bad values, each named by line and column",
      `${HEADER}m9,2026-06-01T00:00:00Z,-3,1.5\n,2026-06-01,5,0\nm1,2026-06-01T00:00:00Z,5,99999999999\n`,
      [
        'readings.csv: line 2, meter: "m9" is not a registered meter',
        'readings.csv: line 2, importWh: "-3" is not a non-negative integer Wh',
        'readings.csv: line 2, exportWh: "1.5" is not a non-negative integer Wh',
        "readings.csv: line 3, meter: is empty",
        'readings.csv: line 3, slot: "2026-06-01" is not an ISO 8601 time with a zone, such as 2026-06-01T12:00:00Z',
        'readings.csv: line 4, exportWh: "99999999999" is above the per-slot maximum of',
      ],
    ],
    [
      "slots off the calendar",
      `${HEADER}m1,2026-06-01T00:07:00Z,5,0\nm1,2026-05-31T23:45:00Z,5,0\nm1,2026-06-02T00:00:00Z,5,0\n`,
      [1, 2, 3].map(
        (row) =>
          `readings.csv: line ${row + 1}, slot: "${["2026-06-01T00:07:00Z", "2026-05-31T23:45:00Z", "2026-06-02T00:00:00Z"][row - 1]}" is not a slot of the market's calendar: slots start every 15 min from 2026-06-01T00:00:00.000Z, 96 of them`,
      ),
    ],
    [
      "a meter's slot given twice, the same time written two ways",
      `${HEADER}m1,2026-06-01T00:00:00Z,5,0\nm1,2026-06-01T02:00:00+02:00,6,0\n`,
      ['readings.csv: line 3: duplicates line 2: meter "m1" at 2026-06-01T00:00:00.000Z'],
    ],
  ];
  for (const [what, text, messages] of cases)
    it(`refuses ${what}, naming the line and column`, () => {
      assert.throws(
        () => parse(text),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError);
          const found = error.issues.map((issue) => `${issue.path}: ${issue.message}`);
          assert.equal(found.length, messages.length, found.join("\n"));
          for (const [m, message] of messages.entries())
            assert.ok(found[m]?.startsWith(message), `${found[m]} ≠ ${message}`);
          return true;
        },
      );
    });

  it("stops listing after a hundred problems and counts the rest", () => {
    const rows = Array.from({ length: 150 }, () => "m1,never,0,0\n").join("");
    assert.throws(
      () => parse(`${HEADER}${rows}`),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.length === 101 &&
        error.issues[100]?.message === "has 50 more problems",
    );
  });
});
