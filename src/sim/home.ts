/**
 * A simulated home: its profiles for the run's seed, its physics — what really flowed in a slot (the
 * energy its agent planned, load and PV each off by a normal error) and what its meter reads (the net
 * at the connection) — and what its agent learns after the slot. Each household draws its profile
 * and its errors from its own streams, forked from the run's seed by its id (and the slot), so a home
 * reads the same whichever process simulates it (`snippet simulate`, or a household service of
 * `snippet up`) and whatever other homes there are.
 * @module
 */
import { type HouseholdEnergy, netPositionWh, type SlotFeedback } from "../agents/agent.ts";
import type { Commitments, HouseholdIntent } from "../market/index.ts";
import { type ProfileSource, syntheticProfiles, type TimeGrid } from "../profiles/index.ts";
import { type Random, seededRandom } from "../profiles/random.ts";
import type { Scenario } from "./scenario.ts";

/** The profiles of the scenario's households (or of `households` of it) for a run with `seed`. */
export function scenarioProfiles(
  scenario: Scenario,
  grid: TimeGrid,
  seed: number,
  households: Scenario["households"] = scenario.households,
): ProfileSource {
  // Each household's profile draws from its own fork: the same whichever households are made with it.
  return syntheticProfiles(households, scenario.site, grid, seededRandom(seed).fork("profiles"));
}

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

/**
 * What a household's agent learns after a slot: what really flowed, what it gave away (sold at price
 * 0) and the share of its community order filled (none without an order).
 */
export function slotFeedbackOf(
  slotStartMs: number,
  actual: HouseholdEnergy,
  committed: Commitments,
  order: { readonly side: HouseholdIntent["side"]; readonly volumeWh: number } | null,
): SlotFeedback {
  let donatedWh = 0;
  for (const trade of committed.bilateral)
    if (trade.side === "sell" && trade.price === 0) donatedWh += trade.volumeWh;
  const filledWh = committed.communityBuyWh + committed.communitySellWh;
  return {
    slotStartMs,
    actual,
    donatedWh,
    communityFill:
      order === null || order.volumeWh === 0 ? null : { side: order.side, share: filledWh / order.volumeWh },
  };
}
