import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../test/support/property.ts";
import {
  cost,
  ExactTotal,
  MAX_ENERGY_WH,
  moneyToEurString,
  moneyToJson,
  mulDivFloor,
  PRICE_GRID_MAX,
  priceFromEurPerKwh,
  priceToEurPerKwh,
  priceUnits,
  wh,
} from "./index.ts";

describe("units", () => {
  it("converts tariffs between EUR/kWh and the price grid (0.20 → 2000, 0.05 → 500)", () => {
    assert.equal(priceFromEurPerKwh(0.2), 2000);
    assert.equal(priceFromEurPerKwh(0.05), 500);
    assert.equal(priceToEurPerKwh(2000), 0.2);
    assert.throws(() => priceFromEurPerKwh(7), RangeError);
  });

  it("makes 1 Wh at 1 price unit exactly 1 money unit (1e-7 EUR)", () => {
    assert.equal(cost(1000, 2000), 2_000_000); // 1 kWh at 0.20 EUR/kWh
    assert.equal(moneyToEurString(cost(1000, 2000)), "0.2000000");
    assert.equal(moneyToEurString(-9500n), "-0.0009500");
  });

  it("writes money as a JSON number while it is safe, else as a decimal string", () => {
    assert.equal(moneyToJson(2n ** 53n - 1n), 2 ** 53 - 1);
    assert.equal(moneyToJson(2n ** 53n), "9007199254740992");
    assert.equal(moneyToJson(-(2n ** 60n)), "-1152921504606846976");
  });

  it("rejects energy and prices outside their ranges", () => {
    for (const bad of [-1, 0.5, MAX_ENERGY_WH + 1, Number.NaN]) assert.throws(() => wh(bad), RangeError);
    for (const bad of [-1, 1.5, PRICE_GRID_MAX + 1]) assert.throws(() => priceUnits(bad), RangeError);
    assert.equal(wh(MAX_ENERGY_WH), MAX_ENERGY_WH);
    assert.equal(priceUnits(PRICE_GRID_MAX), PRICE_GRID_MAX);
  });

  it("computes floor(a·b·…/c) exactly on both sides of 2^53", () => {
    const operand = fc.oneof(fc.integer({ min: 0, max: 2 ** 18 }), fc.maxSafeNat());
    checkProperty(
      fc.property(
        fc.array(operand, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (factors, c) => {
          const exact = factors.reduce((product, factor) => product * BigInt(factor), 1n) / BigInt(c);
          fc.pre(exact <= BigInt(Number.MAX_SAFE_INTEGER));
          assert.equal(BigInt(mulDivFloor(factors, c)), exact);
        },
      ),
    );
  });

  it("keeps a running total exact past 2^53", () => {
    checkProperty(
      fc.property(fc.array(fc.integer({ min: -(2 ** 51), max: 2 ** 51 }), { maxLength: 40 }), (amounts) => {
        const total = new ExactTotal();
        for (const amount of amounts) total.add(amount);
        assert.equal(
          total.value,
          amounts.reduce((sum, amount) => sum + BigInt(amount), 0n),
        );
      }),
    );
    const total = new ExactTotal();
    for (let i = 0; i < 8; i++) total.add(2 ** 51);
    assert.equal(total.value, 2n ** 54n);
  });
});
