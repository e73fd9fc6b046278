import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { coefficientOfPerformance, HeatPump } from "./heat-pump.ts";
import type { HeatPumpAssets } from "./types.ts";

const house: HeatPumpAssets = {
  heatLossWPerK: 200,
  thermalCapacityKwhPerK: 10,
  ratedKw: 3,
  minTemperatureC: 20,
  maxTemperatureC: 22,
};
const SLOT_S = 900;

/** Two days of 15-min slots at a constant outdoor temperature: energy per slot, Wh, and the room temperatures. */
const twoDays = (asset: HeatPumpAssets, outdoorC: number, dailyMeanC = outdoorC) => {
  const heatPump = new HeatPump(asset);
  const slotsWh: number[] = [];
  const indoorC: number[] = [];
  for (let slot = 0; slot < 192; slot++) {
    slotsWh.push(heatPump.slotWh(outdoorC, dailyMeanC, SLOT_S));
    indoorC.push(heatPump.indoorTemperatureC);
  }
  return { slotsWh, indoorC, totalWh: slotsWh.reduce((a, b) => a + b, 0) };
};

describe("heat pump", () => {
  it("has a COP that rises with the outdoor temperature inside 2..5", () => {
    assert.equal(coefficientOfPerformance(-30), 2);
    assert.equal(coefficientOfPerformance(30), 5);
    let last = 0;
    for (let outdoorC = -30; outdoorC <= 30; outdoorC += 1) {
      const cop = coefficientOfPerformance(outdoorC);
      assert.ok(cop >= last && cop >= 2 && cop <= 5, `COP ${cop} at ${outdoorC} °C`);
      last = cop;
    }
    assert.ok(
      coefficientOfPerformance(7) > 3.5 && coefficientOfPerformance(-7) < 3.5,
      "COP at 7 °C and −7 °C",
    );
  });

  it("keeps the room inside its comfort band, switching with hysteresis", () => {
    const { slotsWh, indoorC } = twoDays(house, -5);
    for (const c of indoorC) assert.ok(c >= 20 - 1e-9 && c <= 22 + 1e-9, `${c} °C`);
    for (const wh of slotsWh) assert.ok(wh >= 0 && wh <= 3 * 250 + 1e-9, `${wh} Wh in a slot`);
    assert.ok(slotsWh.some((wh) => wh === 0) && slotsWh.some((wh) => wh === 750), "cycles on and off");
  });

  it("balances the building's heat loss over a day", () => {
    const { totalWh } = twoDays(house, 0);
    const copAt0 = coefficientOfPerformance(0);
    // Heat delivered = loss at a mean room of 21 °C minus the 300 W of internal gains, within the band's storage.
    const expectedWh = ((200 * 21 - 300) * 48) / copAt0;
    assert.ok(Math.abs(totalWh / expectedWh - 1) < 0.05, `${totalWh} Wh, expected about ${expectedWh}`);
  });

  it("runs flat out when it is too small for the cold", () => {
    const { slotsWh } = twoDays({ ...house, ratedKw: 1 }, -20);
    assert.ok(
      slotsWh.slice(10).every((wh) => Math.abs(wh - 250) < 1e-9),
      "runs every slot at full power",
    );
  });

  it("uses more when colder, and nothing above the heating limit", () => {
    assert.ok(twoDays(house, -10).totalWh > twoDays(house, 5).totalWh, "−10 °C against 5 °C");
    assert.equal(twoDays(house, 10, 16).totalWh, 0);
  });
});
