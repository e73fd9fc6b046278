/**
 * The slot loop of a simulation run: every slot of the scenario's time grid through the five steps,
 * each day's slots stored atomically, so that a killed run resumes from its last stored day with no
 * slot lost or doubled.
 * @module
 */

import type { SlotRecord } from "../billing/record.ts";
import type { ProfileSource } from "../profiles/types.ts";
import type { RunStore } from "../store/types.ts";
import { MS_PER_MINUTE } from "../units/index.ts";
import { ValidationError } from "../validation/index.ts";
import { RunAccumulator } from "./accumulate.ts";
import { type AgentKind, type AgentSetup, communityOf, timeGridOf } from "./community.ts";
import { homeRandoms } from "./home.ts";
import { type Scenario, tariffAt } from "./scenario.ts";
import { REFERENCE_ENGINES, type SlotEngines, simulateSlot } from "./slot.ts";
import type { EngineName } from "./types.ts";

/** Something that consumes a run's slot records in order (the accumulator, CSV writers, the ledger). */
export interface RunSink {
  /** Takes the next record; a promise holds the run until the record is consumed (posted, written). */
  add(record: SlotRecord): void | Promise<void>;
}

export interface RunOptions {
  readonly scenario: Scenario;
  readonly days: number;
  /** Run only the first this many slots (then `days` is ignored). */
  readonly slots?: number;
  readonly seed: number;
  readonly store: RunStore;
  /** Continue a run already in the store; without it, a stored run is an error. */
  readonly resume: boolean;
  /** The households' energy, aligned with the scenario's households. */
  readonly profiles: ProfileSource;
  /** Extra consumers of every slot record, fed from the first slot (stored ones replayed on resume). */
  readonly sinks?: readonly RunSink[];
  /** Called after each slot with the number of slots done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Who clears the community stage and bills the slots (default: the reference, in process). */
  readonly engine?: { readonly name: EngineName } & SlotEngines;
  /** The households' agents (default: rule-based). */
  readonly agents?: AgentSetup;
}

export interface RunResult {
  readonly runId: string;
  /** Slots found already stored when the run started (0 unless resumed). */
  readonly resumedFrom: number;
  readonly accumulator: RunAccumulator;
}

/** How many stored slots a resumed run reads back at once. */
const READ_BACK_PAGE_SLOTS = 960;

/** The id of a run: the same scenario, seed, length (days, or slots) and agents always name the same run. */
export function runIdOf(
  scenario: Scenario,
  seed: number,
  days: number,
  agents: AgentKind = "rule-based",
  slots?: number,
): string {
  const length = slots === undefined ? `days${days}` : `slots${slots}`;
  return `${scenario.name}-seed${seed}-${length}${agents === "rule-based" ? "" : `-${agents}`}`;
}

/** Runs (or resumes) a simulation to its last slot. */
export async function runSimulation(options: RunOptions): Promise<RunResult> {
  const { scenario, days, seed, store, profiles } = options;
  const engine = options.engine ?? { name: "reference", ...REFERENCE_ENGINES };
  const grid = timeGridOf(scenario, days, options.slots);
  const agents = options.agents ?? { kind: "rule-based" };
  const community = communityOf(scenario, agents);
  const runId = runIdOf(scenario, seed, days, agents.kind, options.slots);
  const stored = await store.openRun({
    id: runId,
    scenario: scenario.name,
    seed,
    config: {
      scenario,
      days,
      ...(options.slots === undefined ? {} : { slots: options.slots }),
      engine: engine.name,
      agents:
        agents.kind === "rule-based"
          ? agents.kind
          : { kind: agents.kind, horizonHours: agents.horizonHours, replanHours: agents.replanHours },
    },
    householdIds: community.householdIds,
  });
  if (stored > 0 && !options.resume) {
    throw new ValidationError([
      {
        path: "run",
        message: `${runId} already has ${stored} of ${grid.slotCount} slots stored: resume it with --resume, or use another --db`,
      },
    ]);
  }
  const accumulator = new RunAccumulator(
    { scenario: scenario.name, engine: engine.name, seed },
    community.householdIds,
  );
  const sinks: RunSink[] = [accumulator, ...(options.sinks ?? [])];
  const feed = async (record: SlotRecord): Promise<void> => {
    for (const sink of sinks) await sink.add(record);
  };

  for (let from = 0; from < stored; from += READ_BACK_PAGE_SLOTS) {
    for (const record of await store.readSlots(runId, from, Math.min(stored, from + READ_BACK_PAGE_SLOTS)))
      await feed(record);
  }
  const homeRandom = homeRandoms(seed);
  const slotsPerDay = (24 * 60) / grid.slotMinutes;
  let batch: SlotRecord[] = [];
  for (let index = 0; index < grid.slotCount; index++) {
    const startMs = grid.startMs + index * grid.slotMinutes * MS_PER_MINUTE;
    const forecasts = profiles.slot(index);
    // Profiles and agents carry state from slot to slot (weather, batteries, rooms, plans, forecasts):
    // the stored slots replay through them, cleared and billed by the reference, which the engines equal.
    const record = await simulateSlot(
      community,
      {
        index,
        startMs,
        prices: tariffAt(scenario, startMs),
        forecasts,
        ...(profiles.conditions === undefined ? {} : { conditions: profiles.conditions(index) }),
        homeRandom: (id) => homeRandom(id, index),
      },
      index < stored ? REFERENCE_ENGINES : engine,
    );
    if (index < stored) continue;
    await feed(record);
    batch.push(record);
    if (batch.length === slotsPerDay || index === grid.slotCount - 1) {
      await store.appendSlots(runId, batch);
      batch = [];
    }
    options.onProgress?.(index + 1, grid.slotCount);
  }
  for (const [period, statements] of accumulator.statementsByPeriod()) {
    await store.saveStatements(runId, period, statements);
  }
  return { runId, resumedFrom: stored, accumulator };
}
