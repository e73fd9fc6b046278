/**
 * A simulated home as its device runs it, slot after slot: its agent (rule-based or strategic, made as
 * `snippet simulate` makes it), its forecasts from the scenario's profiles for the run's seed, its own
 * outlook fed with the public weather and clearing prices, and its physics — what really flows and
 * what its meter reads, from its own stream of errors. Fed the same slots in the same order, it plans,
 * observes and reads exactly what `simulateSlot` does for the same household. Pure: no I/O.
 * @module
 */
import type { Agent, AgentDecision, HouseholdEnergy } from "../../agents/agent.ts";
import type { Outlook } from "../../agents/forecast.ts";
import type { SlotRecord } from "../../billing/record.ts";
import type { HouseholdIntent } from "../../market/index.ts";
import type { ProfileSource, TimeGrid } from "../../profiles/index.ts";
import type { Random } from "../../profiles/random.ts";
import { type AgentSetup, communityOf } from "../../sim/community.ts";
import { actualEnergy, homeRandoms, meterReading, scenarioProfiles, slotFeedbackOf } from "../../sim/home.ts";
import type { Scenario, ScenarioHousehold } from "../../sim/scenario.ts";
import type { SlotLearned } from "./records.ts";

/** What makes a home: its household in the scenario, the run's seed and agents, and the market's slot grid. */
export interface HomeSetup {
  readonly scenario: Scenario;
  readonly household: ScenarioHousehold;
  readonly seed: number;
  readonly agents: AgentSetup;
  /** The market's slots: the calendar's first slot and length (and count, when it has one). */
  readonly grid: TimeGrid;
}

/** A slot as the home planned it. */
export interface PlannedSlot {
  readonly intent: HouseholdIntent;
  /** What really flows in the slot, and what its meter reads. */
  readonly actual: HouseholdEnergy;
  readonly reading: { readonly importWh: number; readonly exportWh: number };
}

export class HomeModel {
  readonly id: string;
  readonly #agent: Agent;
  readonly #outlook: Outlook;
  readonly #profiles: ProfileSource;
  readonly #errorFraction: number;
  readonly #random: (householdId: string, index: number) => Random;

  constructor(setup: HomeSetup) {
    const { household, grid } = setup;
    // The community of this household alone, on the market's grid: its agent and outlook are made
    // exactly as the whole community's are.
    const scenario: Scenario = {
      ...setup.scenario,
      start: new Date(grid.startMs).toISOString(),
      households: [household],
    };
    const community = communityOf(scenario, setup.agents);
    this.id = household.id;
    this.#agent = community.agents[0] as Agent;
    this.#outlook = community.outlook;
    this.#errorFraction = community.forecastErrorFraction;
    this.#profiles = scenarioProfiles(scenario, grid, setup.seed);
    this.#random = homeRandoms(setup.seed);
  }

  /** Plans slot `index` (each once, in order) with the slot's tariffs, as `simulateSlot` does. */
  async plan(index: number, startMs: number, prices: SlotRecord["prices"]): Promise<PlannedSlot> {
    const [forecast] = this.#profiles.slot(index);
    const conditions = this.#profiles.conditions?.(index);
    if (conditions !== undefined) this.#outlook.recordWeather(startMs, conditions.outdoorTemperatureC);
    const decision: AgentDecision = await this.#agent.plan({
      slotStartMs: startMs,
      prices,
      forecast: forecast as NonNullable<typeof forecast>,
      weather: conditions,
      evSession: conditions?.evSessions[0],
      outlook: this.#outlook,
    });
    const actual = actualEnergy(decision.energy, this.#errorFraction, this.#random(this.id, index));
    return { intent: decision.intent, actual, reading: meterReading(actual) };
  }

  /** After the slot is cleared: the public clearing price, then the home's own outcome, as `simulateSlot` feeds them. */
  observe(startMs: number, planned: PlannedSlot, learned: SlotLearned): void {
    this.#outlook.recordClearing(startMs, learned.figures.clearingPrice);
    this.#agent.observe(slotFeedbackOf(startMs, planned.actual, learned.committed, learned.order));
  }
}
