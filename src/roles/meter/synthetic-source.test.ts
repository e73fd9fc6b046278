import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom, syntheticProfiles } from "../../profiles/index.ts";
import { actualEnergy, homeRandoms, meterReading } from "../../sim/home.ts";
import { loadScenario } from "../../sim/scenarios.ts";
import { ValidationError } from "../../validation/index.ts";
import { SlotCalendar } from "../broker/calendar.ts";
import { syntheticReadings } from "./synthetic-source.ts";

const scenario = loadScenario("default");
const calendar = new SlotCalendar({
  slotMinutes: 15,
  gateMinutes: 5,
  graceMinutes: 5,
  speed: 1,
  originMs: Date.parse(scenario.start),
  wallAtOriginMs: 0,
});
const meters = scenario.households.map(({ id }) => ({ id: `meter-${id}`, household: id }));
/** Noon to 13:00 of the scenario's first day: PV and load both at work. */
const SLOTS = [48, 49, 50, 51];

describe("the meter service's synthetic source", () => {
  it("reads each home's profile load less PV, off by the home's own errors, netted at the connection", () => {
    const readingsOf = syntheticReadings(scenario, 7, calendar, meters);
    const profiles = syntheticProfiles(
      scenario.households,
      scenario.site,
      { startMs: calendar.settings.originMs, slotMinutes: 15, slotCount: 96 },
      seededRandom(7).fork("profiles"),
    );
    const homeRandom = homeRandoms(7);
    for (const index of SLOTS) {
      const energies = profiles.slot(index);
      const expected = scenario.households.map(({ id }, h) => ({
        meter: `meter-${id}`,
        slot: calendar.times(index).slot,
        ...meterReading(
          actualEnergy(
            { ...(energies[h] as (typeof energies)[number]), evWh: 0, heatPumpWh: 0, batteryWh: 0 },
            scenario.forecastErrorFraction ?? 0.1,
            homeRandom(id, index),
          ),
        ),
      }));
      assert.deepEqual(readingsOf(index), expected);
    }
    const noon = readingsOf(52);
    assert.ok(noon.some((reading) => reading.exportWh > 0) && noon.some((reading) => reading.importWh > 0));
  });

  it("gives a meter the same readings whichever other meters its service hosts", () => {
    const all = syntheticReadings(scenario, 3, calendar, meters);
    const alone = syntheticReadings(scenario, 3, calendar, [meters[5] as (typeof meters)[number]]);
    for (const index of SLOTS) assert.deepEqual(alone(index), [all(index)[5]]);
  });

  it("refuses a meter whose home is not in the scenario, and slots the profiles do not know", () => {
    assert.throws(
      () => syntheticReadings(scenario, 1, calendar, [{ id: "meter-x", household: "x" }]),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.message === 'source.scenario: scenario default has no household "x" (meter meter-x)',
    );
    const hourly = new SlotCalendar({ ...calendar.settings, slotMinutes: 60 });
    assert.throws(() => syntheticReadings(scenario, 1, hourly, meters), /60-minute slots are not 15 or 30/);
  });
});
