import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../test/support/property.ts";
import {
  civilDate,
  dynamisationFactor,
  easterSunday,
  germanLocalTime,
  germanLocalToUtcMs,
  germanUtcOffsetMinutes,
  h0DayType,
  h0Season,
} from "./calendar.ts";

const day = (iso: string) => civilDate(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

describe("Easter and the German public holidays", () => {
  it("finds Easter Sunday", () => {
    for (const [year, month, dayOfMonth] of [
      [2026, 4, 5],
      [2025, 4, 20],
      [2024, 3, 31],
      [2019, 4, 21],
      [2000, 4, 23],
      [1818, 3, 22],
      [2038, 4, 25],
    ] as const) {
      assert.deepEqual(easterSunday(year), { month, day: dayOfMonth }, `Easter ${year}`);
    }
  });

  it("puts Easter on a Sunday between 22 March and 25 April", () => {
    checkProperty(
      fc.property(fc.integer({ min: 1583, max: 4099 }), (year) => {
        const { month, day: dayOfMonth } = easterSunday(year);
        const date = new Date(Date.UTC(year, month - 1, dayOfMonth));
        assert.equal(date.getUTCDay(), 0, `Easter ${year}`);
        assert.ok(
          month * 100 + dayOfMonth >= 322 && month * 100 + dayOfMonth <= 425,
          `${month}/${dayOfMonth}`,
        );
      }),
    );
  });

  it("treats nationwide holidays as Sundays, and Dec 24 and 31 as Saturdays unless a Sunday", () => {
    const cases: [string, string][] = [
      ["2026-04-02", "workday"], // Maundy Thursday is no nationwide holiday
      ["2026-04-03", "sunday"], // Good Friday: Easter 2026 is 5 April
      ["2026-04-06", "sunday"], // Easter Monday
      ["2026-05-01", "sunday"],
      ["2026-05-14", "sunday"], // Ascension
      ["2026-05-25", "sunday"], // Whit Monday
      ["2026-10-03", "sunday"], // a Saturday, but a holiday
      ["2026-12-24", "saturday"], // a Thursday
      ["2026-12-25", "sunday"],
      ["2026-12-26", "sunday"],
      ["2026-12-31", "saturday"],
      ["2023-12-24", "sunday"], // a Sunday stays a Sunday
      ["2026-01-01", "sunday"],
      ["2026-01-02", "workday"],
      ["2026-01-03", "saturday"],
      ["2026-01-04", "sunday"],
      ["2026-11-01", "sunday"], // All Saints' Day is a state holiday, but 2026-11-01 is a Sunday anyway
      ["2027-11-01", "workday"], // … and in 2027 a Monday: not nationwide
    ];
    for (const [iso, dayType] of cases) assert.equal(h0DayType(day(iso)), dayType, iso);
  });
});

describe("H0 seasons and dynamisation", () => {
  it("switches seasons on the BDEW dates", () => {
    const cases: [string, string][] = [
      ["2026-03-20", "winter"],
      ["2026-03-21", "transition"],
      ["2026-05-14", "transition"],
      ["2026-05-15", "summer"],
      ["2026-09-14", "summer"],
      ["2026-09-15", "transition"],
      ["2026-10-31", "transition"],
      ["2026-11-01", "winter"],
      ["2026-01-01", "winter"],
    ];
    for (const [iso, season] of cases) assert.equal(h0Season(day(iso)), season, iso);
  });

  it("rounds the dynamisation factor to 4 decimals: high in winter, low in summer", () => {
    assert.equal(dynamisationFactor(1), 1.242);
    assert.equal(dynamisationFactor(100), 1.0288);
    assert.equal(dynamisationFactor(200), 0.7848);
    assert.equal(dynamisationFactor(365), 1.2572);
  });

  it("numbers the days of the year from 1", () => {
    assert.equal(day("2026-01-01").dayOfYear, 1);
    assert.equal(day("2026-12-31").dayOfYear, 365);
    assert.equal(day("2024-12-31").dayOfYear, 366);
  });
});

describe("German civil time", () => {
  it("is CET in winter and CEST from the last Sunday of March to the last Sunday of October, 01:00 UTC", () => {
    assert.equal(germanUtcOffsetMinutes(Date.parse("2026-01-15T12:00:00Z")), 60);
    assert.equal(germanUtcOffsetMinutes(Date.parse("2026-03-29T00:59:59Z")), 60);
    assert.equal(germanUtcOffsetMinutes(Date.parse("2026-03-29T01:00:00Z")), 120);
    assert.equal(germanUtcOffsetMinutes(Date.parse("2026-10-25T00:59:59Z")), 120);
    assert.equal(germanUtcOffsetMinutes(Date.parse("2026-10-25T01:00:00Z")), 60);
  });

  it("places UTC instants on the local day and minute", () => {
    const newYear = germanLocalTime(Date.parse("2025-12-31T23:15:00Z"));
    assert.deepEqual(civilDate(newYear.dayNumber), day("2026-01-01"));
    assert.equal(newYear.minuteOfDay, 15);
    assert.equal(germanLocalTime(Date.parse("2026-07-01T10:00:00Z")).minuteOfDay, 12 * 60);
  });

  it("converts local times back to UTC outside the switching hours", () => {
    checkProperty(
      fc.property(
        fc.integer({ min: 18_000, max: 25_000 }),
        fc.double({ min: 3, max: 23.9, noNaN: true }),
        (dayNumber, hours) => {
          const local = germanLocalTime(germanLocalToUtcMs(dayNumber, hours));
          assert.equal(local.dayNumber, dayNumber);
          assert.ok(
            Math.abs(local.minuteOfDay - hours * 60) < 1,
            `${hours} h became minute ${local.minuteOfDay}`,
          );
        },
      ),
    );
  });
});
