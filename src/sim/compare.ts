/**
 * Rule-based against strategic agents: the same scenario, seed and profiles run once with each kind
 * of agent, and the figures households care about side by side — what they paid, what they saved
 * against the plain tariff, how much of the community's generation stayed in the community, and the
 * community's peak import from the grid.
 * @module
 */
import type { ProfileSource } from "../profiles/types.ts";
import type { RunStore } from "../store/types.ts";
import { type Money, whToKwh } from "../units/index.ts";
import type { RunAccumulator } from "./accumulate.ts";
import type { AgentSetup } from "./community.ts";
import { runSimulation } from "./run.ts";
import type { Scenario } from "./scenario.ts";

/** One kind of agent's outcome over the run. */
export interface ComparisonRow {
  readonly agents: AgentSetup["kind"];
  /** What all households paid together, money units. */
  readonly householdCostMoney: Money;
  /** What they would have paid on the plain tariff (their metered energy at retail and feed-in). */
  readonly plainTariffMoney: Money;
  readonly savingsMoney: Money;
  /** Of the households' PV generation, the share used in the community (1 − sold to the supplier / generated). */
  readonly selfConsumption: number;
  /** The community's highest import from the grid in one slot, kW. */
  readonly peakImportKw: number;
  readonly communityTradedWh: number;
  /** Wall-clock time of the run, seconds. */
  readonly seconds: number;
}

export interface ComparisonOptions {
  readonly scenario: Scenario;
  readonly days: number;
  readonly seed: number;
  /** Fresh profiles for each run, the same every time. */
  readonly profiles: () => ProfileSource;
  /** A fresh store for each run. */
  readonly store: () => Promise<RunStore>;
  /** The strategic agents' setup. */
  readonly strategic: Extract<AgentSetup, { kind: "strategic" }>;
}

/** Runs the scenario with rule-based and then with strategic agents; the strategic run's accumulator comes along for its report. */
export async function compareAgents(
  options: ComparisonOptions,
): Promise<{ rows: ComparisonRow[]; strategic: RunAccumulator }> {
  const generatedWh = pvTotalWh(
    options.profiles(),
    options.days * ((24 * 60) / options.scenario.slotMinutes),
  );
  const rows: ComparisonRow[] = [];
  let strategic: RunAccumulator | undefined;
  for (const agents of [{ kind: "rule-based" } as const, options.strategic]) {
    const store = await options.store();
    const startedMs = performance.now();
    try {
      const { accumulator } = await runSimulation({
        scenario: options.scenario,
        days: options.days,
        seed: options.seed,
        store,
        resume: false,
        profiles: options.profiles(),
        agents,
      });
      const seconds = (performance.now() - startedMs) / 1000;
      strategic = accumulator;
      const outcomes = accumulator.householdOutcomes();
      const series = accumulator.series();
      const summary = accumulator.summary();
      const total = (pick: (outcome: (typeof outcomes)[number]) => bigint): Money =>
        outcomes.reduce((sum, outcome) => sum + pick(outcome), 0n) as Money;
      const peakImportWh = Math.max(0, ...series.consumptionWh);
      rows.push({
        agents: agents.kind,
        householdCostMoney: total((outcome) => outcome.billMoney),
        plainTariffMoney: total((outcome) => outcome.plainTariffMoney),
        savingsMoney: total((outcome) => outcome.savingMoney),
        selfConsumption: generatedWh === 0 ? 0 : 1 - summary.supplierSoldWh / generatedWh,
        peakImportKw: whToKwh(peakImportWh) * (60 / options.scenario.slotMinutes),
        communityTradedWh: summary.communityTradedWh,
        seconds,
      });
    } finally {
      await store.close();
    }
  }
  return { rows, strategic: strategic as RunAccumulator };
}

/** The forecast PV generation of all households over `slots` slots, Wh. */
function pvTotalWh(profiles: ProfileSource, slots: number): number {
  let totalWh = 0;
  for (let index = 0; index < slots; index++)
    for (const energy of profiles.slot(index)) totalWh += energy.pvWh;
  return totalWh;
}
