import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeHtml, formatCount, formatEnergyWh, formatEur, formatPercent } from "./format.ts";

describe("report formatting", () => {
  it("writes EUR rounded half away from zero to the cent, exactly at any size", () => {
    assert.equal(formatEur(123_450_000n), "12.35 EUR");
    assert.equal(formatEur(-123_450_000n), "-12.35 EUR");
    assert.equal(formatEur(-49_999n), "0.00 EUR");
    assert.equal(formatEur(12_345_678_901_234_567_890n), "1,234,567,890,123.46 EUR");
  });

  it("writes energy in kWh, MWh or GWh and counts and shares readably", () => {
    assert.equal(formatEnergyWh(1_500), "1.50 kWh");
    assert.equal(formatEnergyWh(1_234_567), "1.23 MWh");
    assert.equal(formatEnergyWh(2_550_000_000), "2.55 GWh");
    assert.equal(formatCount(35_040), "35,040");
    assert.equal(formatPercent(0.4321), "43.2%");
  });

  it("escapes every character that could open markup or leave an attribute", () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });
});
