/**
 * Turns a validated scenario into what the slot loop runs: the time grid, each household's rule-based
 * agent and representative, the zones, and the tariff of each slot.
 * @module
 */
import { type RuleBasedPreferences, ruleBasedAgent } from "../agents/rule-based.ts";
import type { TimeGrid } from "../profiles/types.ts";
import type { Scenario } from "./scenario.ts";
import type { Community } from "./slot.ts";

const DEFAULT_FORECAST_ERROR = 0.1;

/** The community of a scenario, with rule-based agents. */
export function communityOf(scenario: Scenario): Community {
  const represented = scenario.roles === "S2" || scenario.roles === "S3";
  return {
    householdIds: scenario.households.map((household) => household.id),
    agents: scenario.households.map((household) =>
      ruleBasedAgent({
        id: household.id,
        ...(household.zone === undefined ? {} : { zone: household.zone }),
        ...(household.connectionCapWh === undefined ? {} : { connectionCapWh: household.connectionCapWh }),
        // zod leaves absent optional fields out, as RuleBasedPreferences expects.
        ...(household.preferences === undefined
          ? {}
          : { preferences: household.preferences as RuleBasedPreferences }),
      }),
    ),
    representativeOf: scenario.households.map((household) =>
      represented ? (household.representative ?? null) : null,
    ),
    ...(scenario.zones === undefined ? {} : { zones: scenario.zones }),
    billingModel: "ucs-uniform",
    forecastErrorFraction: scenario.forecastErrorFraction ?? DEFAULT_FORECAST_ERROR,
  };
}

/** The time grid of `days` days of the scenario. */
export function timeGridOf(scenario: Scenario, days: number): TimeGrid {
  return {
    startMs: Date.parse(scenario.start),
    slotMinutes: scenario.slotMinutes,
    slotCount: days * ((24 * 60) / scenario.slotMinutes),
  };
}
