/**
 * Turns a validated scenario into what the slot loop runs: the time grid, each household's agent
 * (rule-based, or strategic with its planner), representative and connection's physical capacity,
 * the zones, the public outlook the planners forecast from, and the tariff of each slot.
 * @module
 */

import type { Agent, AgentHousehold } from "../agents/agent.ts";
import { Outlook } from "../agents/forecast.ts";
import { ruleBasedAgent } from "../agents/rule-based.ts";
import type { LpSolver } from "../agents/solver.ts";
import { strategicAgent } from "../agents/strategic.ts";
import type { BillingModel } from "../billing/types.ts";
import type { TimeGrid } from "../profiles/types.ts";
import { MS_PER_MINUTE } from "../units/index.ts";
import { physicalCapacityWhOf, type Scenario, tariffAt } from "./scenario.ts";
import type { Community } from "./slot.ts";

/** How far a forecast, and so a home's real flows, miss when a scenario does not say (one standard deviation). */
export const DEFAULT_FORECAST_ERROR = 0.1;

/** Which agents a run's households use. */
export type AgentKind = "rule-based" | "strategic";

/** How the households' agents work: rule-based, or strategic with a solver and a planning rhythm. */
export type AgentSetup =
  | { readonly kind: "rule-based" }
  | {
      readonly kind: "strategic";
      readonly solver: LpSolver;
      readonly horizonHours?: number;
      readonly replanHours?: number;
    };

/** The community of a scenario (rule-based agents unless `agents` says otherwise). */
export function communityOf(scenario: Scenario, agents: AgentSetup = { kind: "rule-based" }): Community {
  const represented = scenario.roles === "S2" || scenario.roles === "S3";
  const startMs = Date.parse(scenario.start);
  return {
    householdIds: scenario.households.map((household) => household.id),
    agents: scenario.households.map((household, h): Agent => {
      // zod leaves absent optional fields out, as AgentHousehold expects.
      const settings = household as AgentHousehold;
      return agents.kind === "rule-based"
        ? ruleBasedAgent(settings, scenario.slotMinutes)
        : strategicAgent(
            settings,
            {
              solver: agents.solver,
              startMs,
              slotMinutes: scenario.slotMinutes,
              ...(agents.horizonHours === undefined ? {} : { horizonHours: agents.horizonHours }),
              ...(agents.replanHours === undefined ? {} : { replanHours: agents.replanHours }),
            },
            `households[${h}]`,
          );
    }),
    representativeOf: scenario.households.map((household) =>
      represented ? (household.representative ?? null) : null,
    ),
    physicalCapacityWh: scenario.households.map((household) => physicalCapacityWhOf(scenario, household)),
    ...(scenario.zones === undefined ? {} : { zones: scenario.zones }),
    billingModel: SIMULATION_BILLING_MODEL,
    forecastErrorFraction: scenario.forecastErrorFraction ?? DEFAULT_FORECAST_ERROR,
    outlook: new Outlook(startMs, scenario.slotMinutes * MS_PER_MINUTE, (slotStartMs) =>
      tariffAt(scenario, slotStartMs),
    ),
  };
}

/** How a simulated community shares its deviation pools: the spec's default. */
export const SIMULATION_BILLING_MODEL: BillingModel = "ucs-uniform";

/** The time grid of `days` days of the scenario, or of its first `slots` slots when given. */
export function timeGridOf(scenario: Scenario, days: number, slots?: number): TimeGrid {
  return {
    startMs: Date.parse(scenario.start),
    slotMinutes: scenario.slotMinutes,
    slotCount: slots ?? days * ((24 * 60) / scenario.slotMinutes),
  };
}

/** Strategic agents on `solver`, with the run's planning horizon and replanning interval when given. */
export function strategicSetup(
  solver: Extract<AgentSetup, { kind: "strategic" }>["solver"],
  options: { readonly horizonHours?: number; readonly replanHours?: number },
): Extract<AgentSetup, { kind: "strategic" }> {
  return {
    kind: "strategic",
    solver,
    ...(options.horizonHours === undefined ? {} : { horizonHours: options.horizonHours }),
    ...(options.replanHours === undefined ? {} : { replanHours: options.replanHours }),
  };
}
