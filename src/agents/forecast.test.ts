import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../test/support/property.ts";
import type { Tariff } from "./forecast.ts";
import { FillHistory, Outlook, OwnForecast } from "./forecast.ts";

const startMs = Date.UTC(2026, 0, 5);
const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
const at = (day: number, hour: number): number => startMs + day * dayMs + hour * hourMs;

/** A time-of-use tariff: cheaper at night (before 6 h UTC). */
const day: Tariff = { feedIn: 800, retail: 3000, networkFee: 500 };
const night: Tariff = { feedIn: 600, retail: 2500, networkFee: 400 };
const tariffAt = (slotStartMs: number): Tariff => (new Date(slotStartMs).getUTCHours() < 6 ? night : day);

const close = (actual: number | undefined, expected: number): boolean =>
  actual !== undefined && Math.abs(actual - expected) < 1e-9;

describe("Outlook prices", () => {
  it("expects the supplier's retail and feed-in of each slot before any clearing is known", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    const { importPrice, exportPrice } = outlook.prices(at(0, 3), 30);
    assert.equal(importPrice.length, 30);
    importPrice.forEach((price, k) => {
      assert.equal(price, tariffAt(at(0, 3 + k)).retail, `slot ${k}`);
      assert.equal(exportPrice[k], tariffAt(at(0, 3 + k)).feedIn, `slot ${k}`);
    });
  });

  it("moves the expectation at a time of day between the community's price and the supplier's by the clear rate", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    outlook.recordClearing(at(0, 10), 1500);
    // Cleared every time so far: the community's price, plus the fee for imports.
    let expected = outlook.prices(at(1, 10), 1);
    assert.deepEqual(expected, { importPrice: [2000], exportPrice: [1500] });

    outlook.recordClearing(at(1, 10), null);
    // Clear rate 0.7: 0.7 · 2000 + 0.3 · 3000 and 0.7 · 1500 + 0.3 · 800.
    expected = outlook.prices(at(2, 10), 1);
    assert.ok(close(expected.importPrice[0], 2300), `${expected.importPrice[0]}`);
    assert.ok(close(expected.exportPrice[0], 1290), `${expected.exportPrice[0]}`);

    outlook.recordClearing(at(2, 10), 2500);
    // Clear rate 0.7 · 0.7 + 0.3 = 0.79; mean price 0.7 · 1500 + 0.3 · 2500 = 1800.
    expected = outlook.prices(at(3, 10), 1);
    assert.ok(close(expected.importPrice[0], 0.79 * 2300 + 0.21 * 3000), `${expected.importPrice[0]}`);
    assert.ok(close(expected.exportPrice[0], 0.79 * 1800 + 0.21 * 800), `${expected.exportPrice[0]}`);
  });

  it("leaves the other times of day at the supplier's prices", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    outlook.recordClearing(at(0, 10), 1500);
    const { importPrice, exportPrice } = outlook.prices(at(1, 8), 4);
    assert.deepEqual(importPrice, [3000, 3000, 2000, 3000]);
    assert.deepEqual(exportPrice, [800, 800, 1500, 800]);
  });

  it("caps an import at retail and keeps an export at feed-in or above", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    outlook.recordClearing(at(0, 12), 2800);
    outlook.recordClearing(at(0, 13), 700);
    assert.deepEqual(outlook.prices(at(1, 12), 2), { importPrice: [3000, 1200], exportPrice: [2800, 800] });
  });

  it("takes the first community price as it is after slots that did not clear", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    outlook.recordClearing(at(0, 14), null);
    assert.deepEqual(outlook.prices(at(1, 14), 1), { importPrice: [3000], exportPrice: [800] });
    outlook.recordClearing(at(1, 14), 1600);
    // Clear rate 0.3, mean price 1600 (not smoothed with the 0 of no trade).
    const { importPrice, exportPrice } = outlook.prices(at(2, 14), 1);
    assert.ok(close(importPrice[0], 0.3 * 2100 + 0.7 * 3000), `${importPrice[0]}`);
    assert.ok(close(exportPrice[0], 0.3 * 1600 + 0.7 * 800), `${exportPrice[0]}`);
  });

  it("uses the household's own fill history instead of the clear rate, side by side", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    outlook.recordClearing(at(0, 10), 1500);
    const fills = new FillHistory(startMs, hourMs);
    fills.record("buy", at(0, 10), 0.5);
    const { importPrice, exportPrice } = outlook.prices(at(1, 10), 1, fills);
    assert.ok(close(importPrice[0], 0.5 * 2000 + 0.5 * 3000), `${importPrice[0]}`);
    assert.equal(exportPrice[0], 1500, "no sell history: the clear rate (1) still applies");
    fills.record("sell", at(0, 10), 0);
    assert.equal(outlook.prices(at(1, 10), 1, fills).exportPrice[0], 800, "never filled: feed-in");
  });

  it("always expects prices between the supplier's, imports at least exports", () => {
    checkProperty(
      fc.property(
        fc.array(
          fc.record({
            hour: fc.integer({ min: 0, max: 23 }),
            price: fc.option(fc.integer({ min: 600, max: 3000 }), { nil: null }),
          }),
          { maxLength: 60 },
        ),
        (clearings) => {
          const outlook = new Outlook(startMs, hourMs, tariffAt);
          clearings.forEach(({ hour, price }, k) => {
            outlook.recordClearing(at(k, hour), price);
          });
          const from = at(clearings.length, 0);
          const { importPrice, exportPrice } = outlook.prices(from, 24);
          importPrice.forEach((importAt, k) => {
            const { feedIn, retail } = tariffAt(from + k * hourMs);
            const exportAt = exportPrice[k] as number;
            assert.ok(importAt <= retail + 1e-9 && exportAt >= feedIn - 1e-9, `slot ${k}`);
            assert.ok(exportAt <= importAt + 1e-9, `slot ${k}: export ${exportAt} above import ${importAt}`);
          });
        },
      ),
    );
  });
});

describe("Outlook temperatures", () => {
  const yesterdayC = (hour: number): number => 2 + Math.sin(hour / 4) * 5;

  it("expects yesterday's temperature at the same time, shifted by how much warmer it is today", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    for (let hour = 0; hour < 24; hour++) outlook.recordWeather(at(0, hour), yesterdayC(hour));
    for (let hour = 0; hour < 8; hour++) outlook.recordWeather(at(1, hour), yesterdayC(hour) + 3);
    const forecast = outlook.temperatures(at(1, 8), 24);
    forecast.forEach((temperatureC, k) => {
      const hour = (8 + k) % 24;
      // Tomorrow's early hours: today's values are the latest, shifted again.
      const expected = hour >= 8 ? yesterdayC(hour) + 3 : yesterdayC(hour) + 6;
      assert.ok(close(temperatureC, expected), `hour ${hour}: ${temperatureC}, expected ${expected}`);
    });
  });

  it("expects the current temperature at times of day never observed, and no shift on the first day", () => {
    const outlook = new Outlook(startMs, hourMs, tariffAt);
    for (let hour = 0; hour < 6; hour++) outlook.recordWeather(at(0, hour), yesterdayC(hour));
    assert.deepEqual(outlook.temperatures(at(0, 6), 3), [yesterdayC(5), yesterdayC(5), yesterdayC(5)]);
    assert.deepEqual(outlook.temperatures(at(1, 2), 2), [yesterdayC(2), yesterdayC(3)]);
  });
});

describe("FillHistory", () => {
  it("knows nothing before a fill, then smooths each side and time of day on its own", () => {
    const fills = new FillHistory(startMs, hourMs);
    assert.equal(fills.share("buy", at(0, 9)), undefined);
    fills.record("buy", at(0, 9), 0.4);
    assert.equal(fills.share("buy", at(5, 9)), 0.4, "the same time on any day");
    assert.equal(fills.share("sell", at(0, 9)), undefined, "the other side is unknown");
    assert.equal(fills.share("buy", at(0, 10)), undefined, "another time is unknown");
    fills.record("buy", at(1, 9), 1);
    assert.ok(close(fills.share("buy", at(2, 9)), 0.7 * 0.4 + 0.3 * 1));
  });
});

describe("OwnForecast", () => {
  it("expects nothing before it has seen a slot", () => {
    const own = new OwnForecast(startMs, hourMs);
    assert.deepEqual(own.netWh(at(0, 0), 3), [0, 0, 0]);
  });

  it("averages load minus PV over the last up to three days at the same time of day", () => {
    const own = new OwnForecast(startMs, hourMs);
    // Day d at hour h: load 100·(d + 1) + h, PV 10·h.
    const observe = (dayIndex: number): void => {
      for (let hour = 0; hour < 24; hour++)
        own.observe(at(dayIndex, hour), 100 * (dayIndex + 1) + hour, 10 * hour);
    };
    const net = (dayIndex: number, hour: number): number => 100 * (dayIndex + 1) + hour - 10 * hour;
    const mean = (days: number[], hour: number): number =>
      days.reduce((sum, d) => sum + net(d, hour), 0) / days.length;

    observe(0);
    assert.deepEqual(
      own.netWh(at(1, 0), 24),
      Array.from({ length: 24 }, (_, hour) => net(0, hour)),
    );
    const expectMeans = (forecastDay: number, days: number[]): void => {
      own.netWh(at(forecastDay, 0), 24).forEach((value, hour) => {
        assert.ok(close(value, mean(days, hour)), `hour ${hour}: the mean of days ${days.join(", ")}`);
      });
    };
    observe(1);
    expectMeans(2, [0, 1]);
    observe(2);
    expectMeans(3, [0, 1, 2]);
    observe(3);
    expectMeans(4, [1, 2, 3]);
  });

  it("falls back to the last slot seen at times of day it has not seen", () => {
    const own = new OwnForecast(startMs, hourMs);
    own.observe(at(0, 0), 500, 0);
    own.observe(at(0, 1), 400, 900);
    assert.deepEqual(own.netWh(at(0, 2), 3), [-500, -500, -500]);
    assert.deepEqual(own.netWh(at(1, 0), 3), [500, -500, -500]);
  });
});
