/**
 * The meter service's `synthetic` source: the scenario's households without their devices, for load
 * tests and demos that run no household processes. A meter reads its home's profile load less its
 * PV (the scenario's synthetic profiles with the seed), each off by the home's own error for the
 * slot (src/sim/home.ts), netted at the connection. The profiles run on the market's calendar
 * (slot i of the calendar is slot i of the profiles, from the calendar's origin), and each home
 * draws from its own streams, so a meter reads the same whichever service hosts it and whatever
 * other meters it hosts.
 * @module
 */
import { seededRandom, syntheticProfiles } from "../../profiles/index.ts";
import { DEFAULT_FORECAST_ERROR } from "../../sim/community.ts";
import { actualEnergy, homeRandoms, meterReading } from "../../sim/home.ts";
import type { Scenario } from "../../sim/scenario.ts";
import { ValidationError } from "../../validation/index.ts";
import type { SlotCalendar } from "../broker/calendar.ts";
import type { MeterReading } from "./bus.ts";

/** A meter of the registry and the household it measures. */
export interface HostedMeter {
  readonly id: string;
  readonly household: string;
}

/** Slots a calendar without an end is given in the profiles' grid: a century of quarter hours. */
const ENDLESS_SLOTS = 100 * 366 * 96;

/**
 * Each slot's readings of `meters` (asked for in ascending slot order).
 * @throws {@link ValidationError} when a meter's household is not in the scenario, or the calendar's
 * slot length is not one the profiles know.
 */
export function syntheticReadings(
  scenario: Scenario,
  seed: number,
  calendar: SlotCalendar,
  meters: readonly HostedMeter[],
): (index: number) => MeterReading[] {
  const byId = new Map(scenario.households.map((household) => [household.id, household]));
  const missing = meters.filter((meter) => !byId.has(meter.household));
  if (missing.length > 0)
    throw new ValidationError([
      {
        path: "source.scenario",
        message: `scenario ${scenario.name} has no household ${missing.map((m) => `"${m.household}" (meter ${m.id})`).join(", ")}`,
      },
    ]);
  const { slotMinutes, originMs, slots } = calendar.settings;
  if (slotMinutes !== 15 && slotMinutes !== 30)
    throw new ValidationError([
      {
        path: "source",
        message: `the market's ${slotMinutes}-minute slots are not 15 or 30, as the synthetic profiles are`,
      },
    ]);
  const profiles = syntheticProfiles(
    meters.map((meter) => byId.get(meter.household) as Scenario["households"][number]),
    scenario.site,
    { startMs: originMs, slotMinutes, slotCount: slots ?? ENDLESS_SLOTS },
    seededRandom(seed).fork("profiles"),
  );
  const homeRandom = homeRandoms(seed);
  const errorFraction = scenario.forecastErrorFraction ?? DEFAULT_FORECAST_ERROR;
  return (index) => {
    const slot = calendar.times(index).slot;
    return profiles.slot(index).map((energy, m) => {
      const meter = meters[m] as HostedMeter;
      const actual = actualEnergy(
        { ...energy, evWh: 0, heatPumpWh: 0, batteryWh: 0 },
        errorFraction,
        homeRandom(meter.household, index),
      );
      return { meter: meter.id, slot, ...meterReading(actual) };
    });
  };
}
