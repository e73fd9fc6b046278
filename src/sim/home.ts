/**
 * A simulated home's physics: what really flowed in a slot (the energy its agent planned, load and PV
 * each off by a normal error) and what its meter reads (the net at the connection). Each household
 * draws its errors from its own stream per slot, forked from the run's seed by its id and the slot,
 * so a home reads the same whichever process simulates it (`snippet simulate`, or a household service
 * of `snippet up`) and whatever other homes there are.
 * @module
 */
import { type HouseholdEnergy, netPositionWh } from "../agents/agent.ts";
import { type Random, seededRandom } from "../profiles/random.ts";

/** Each household's stream of errors in each slot of a run with seed `seed`: `(id, index) => stream`. */
export function homeRandoms(seed: number): (householdId: string, index: number) => Random {
  const run = seededRandom(seed);
  const households = new Map<string, Random>();
  return (householdId, index) => {
    let household = households.get(householdId);
    if (household === undefined) {
      household = run.fork(`home:${householdId}`);
      households.set(householdId, household);
    }
    return household.fork(String(index));
  };
}

/**
 * What really flowed: the load and PV the agent expected, each off by a normal error of
 * `errorFraction` of itself; the devices did what the agent decided.
 */
export function actualEnergy(
  expected: HouseholdEnergy,
  errorFraction: number,
  random: Random,
): HouseholdEnergy {
  return {
    loadWh: Math.max(0, Math.round(expected.loadWh * (1 + random.normal(0, errorFraction)))),
    pvWh: Math.max(0, Math.round(expected.pvWh * (1 + random.normal(0, errorFraction)))),
    evWh: expected.evWh,
    heatPumpWh: expected.heatPumpWh,
    batteryWh: expected.batteryWh,
  };
}

/** What the meter reads: the household's energy netted at the connection. */
export function meterReading(actual: HouseholdEnergy): { importWh: number; exportWh: number } {
  const netWh = netPositionWh(actual);
  return netWh >= 0 ? { importWh: netWh, exportWh: 0 } : { importWh: 0, exportWh: -netWh };
}
