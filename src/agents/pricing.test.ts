import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../test/support/property.ts";
import type { Tariff } from "./forecast.ts";
import { type FlexiblePart, limitPrice } from "./pricing.ts";

const tariff: Tariff = { feedIn: 800, retail: 3000, networkFee: 500 };

describe("limitPrice", () => {
  it("prices energy with no flexible part at the outside option: retail minus the fee to buy, feed-in to sell", () => {
    assert.equal(limitPrice("buy", 1000, [], tariff), 2500);
    assert.equal(limitPrice("sell", 1000, [], tariff), 800);
  });

  it("gives an empty or negative volume the outside option whatever its flexible parts", () => {
    const parts = [{ wh: 500, value: 100 }];
    assert.equal(limitPrice("buy", 0, parts, tariff), 2500);
    assert.equal(limitPrice("sell", 0, parts, tariff), 800);
    assert.equal(limitPrice("buy", -10, parts, tariff), 2500);
  });

  it("never bids a buyer above feed-in's floor when the fee leaves nothing below retail", () => {
    assert.equal(limitPrice("buy", 1000, [], { feedIn: 800, retail: 1000, networkFee: 500 }), 800);
  });

  it("weights flexible parts by their volume, and a buyer's values net of the fee", () => {
    // 400 Wh worth 2000 with the fee (1500 net), 600 Wh at retail − fee = 2500: (400·1500 + 600·2500) / 1000.
    assert.equal(limitPrice("buy", 1000, [{ wh: 400, value: 2000 }], tariff), 2100);
    // A seller's value is not reduced by the fee: (400·2000 + 600·800) / 1000.
    assert.equal(limitPrice("sell", 1000, [{ wh: 400, value: 2000 }], tariff), 1280);
    // Two parts: (250·(2200 − 500) + 250·(1200 − 500) + 500·2500) / 1000.
    assert.equal(
      limitPrice(
        "buy",
        1000,
        [
          { wh: 250, value: 2200 },
          { wh: 250, value: 1200 },
        ],
        tariff,
      ),
      1850,
    );
  });

  it("rounds the weighted mean to a whole price unit", () => {
    // (1·1500 + 2·2500) / 3 = 2166.67.
    assert.equal(limitPrice("buy", 3, [{ wh: 1, value: 2000 }], tariff), 2167);
  });

  it("clamps a buyer's limit into [feed-in, retail − fee]", () => {
    assert.equal(limitPrice("buy", 1000, [{ wh: 1000, value: 9000 }], tariff), 2500);
    assert.equal(limitPrice("buy", 1000, [{ wh: 1000, value: 0 }], tariff), 800);
  });

  it("clamps a seller's limit into [feed-in, retail]", () => {
    assert.equal(limitPrice("sell", 1000, [{ wh: 1000, value: 9000 }], tariff), 3000);
    assert.equal(limitPrice("sell", 1000, [{ wh: 1000, value: -400 }], tariff), 800);
  });

  it("ignores flexible energy beyond the order's volume, taking parts in their order", () => {
    const parts: FlexiblePart[] = [
      { wh: 600, value: 2000 },
      { wh: 600, value: 1000 },
      { wh: 300, value: 0 },
    ];
    // 600 Wh at 2000 and only 400 Wh of the second part at 1000; the third part does not count.
    assert.equal(limitPrice("sell", 1000, parts, tariff), 1600);
    assert.equal(limitPrice("sell", 600, parts, tariff), 2000);
  });

  it("ignores parts of zero or negative energy", () => {
    const parts: FlexiblePart[] = [
      { wh: 0, value: 100 },
      { wh: -300, value: 100 },
    ];
    assert.equal(limitPrice("buy", 1000, parts, tariff), 2500);
    assert.equal(limitPrice("sell", 1000, parts, tariff), 800);
  });

  const randomTariff = fc
    .record({
      feedIn: fc.integer({ min: 0, max: 5000 }),
      spread: fc.integer({ min: 0, max: 5000 }),
      networkFee: fc.integer({ min: 0, max: 3000 }),
    })
    .map(({ feedIn, spread, networkFee }) => ({ feedIn, retail: feedIn + spread, networkFee }));
  const randomParts = fc.array(
    fc.record({
      wh: fc.integer({ min: -100, max: 5000 }),
      value: fc.double({ min: -10_000, max: 20_000, noNaN: true }),
    }),
    { maxLength: 4 },
  );

  it("always returns an integer inside the side's band", () => {
    checkProperty(
      fc.property(
        fc.constantFrom("buy" as const, "sell" as const),
        fc.integer({ min: -10, max: 10_000 }),
        randomParts,
        randomTariff,
        (side, volumeWh, parts, prices) => {
          const limit = limitPrice(side, volumeWh, parts, prices);
          assert.ok(Number.isInteger(limit), `${limit} is an integer`);
          const high =
            side === "buy" ? Math.max(prices.feedIn, prices.retail - prices.networkFee) : prices.retail;
          assert.ok(limit >= prices.feedIn && limit <= high, `${limit} in [${prices.feedIn}, ${high}]`);
        },
      ),
    );
  });

  it("never falls when a flexible part is worth more", () => {
    checkProperty(
      fc.property(
        fc.constantFrom("buy" as const, "sell" as const),
        fc.integer({ min: 1, max: 10_000 }),
        randomParts.filter((parts) => parts.length > 0),
        fc.nat(),
        fc.double({ min: 0, max: 5000, noNaN: true }),
        randomTariff,
        (side, volumeWh, parts, which, raise, prices) => {
          const index = which % parts.length;
          const raised = parts.map((part, i) =>
            i === index ? { ...part, value: part.value + raise } : part,
          );
          assert.ok(limitPrice(side, volumeWh, raised, prices) >= limitPrice(side, volumeWh, parts, prices));
        },
      ),
    );
  });
});
