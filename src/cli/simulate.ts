/**
 * `snippet simulate`: runs a community scenario through all five steps, slot by slot, stores every
 * slot as it goes (resumable), and writes summary.json, CSVs and a self-contained HTML report.
 * `snippet compare`: the same scenario and seed with rule-based and with strategic agents, side by side.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Presets, SingleBar } from "cli-progress";
import pino from "pino";
import type { Hex } from "viem";
import { workerSolver } from "../agents/solver.ts";
import type { LedgerRun } from "../ledger/community.ts";
import type { LedgerOptions } from "../ledger/simulation.ts";
import { alignedTo, csvProfiles } from "../profiles/index.ts";
import { comparisonMarkdown, renderReport } from "../report/index.ts";
import { type AgentKind, SIMULATION_BILLING_MODEL, strategicSetup, timeGridOf } from "../sim/community.ts";
import { compareAgents } from "../sim/compare.ts";
import { scenarioProfiles } from "../sim/home.ts";
import { MpcCommunityEngine } from "../sim/mpc-engines.ts";
import { SlotCsvWriter, writeRunOutputs } from "../sim/outputs.ts";
import { runIdOf, runSimulation } from "../sim/run.ts";
import type { Scenario } from "../sim/scenario.ts";
import { loadScenario } from "../sim/scenarios.ts";
import { referenceSlotEngine, reportingReferenceBilling } from "../sim/slot.ts";
import type { EngineName } from "../sim/types.ts";
import { openPgliteStore, openStore } from "../store/index.ts";
import { readTextFile } from "./io.ts";

export interface SimulateOptions {
  readonly scenario: string;
  readonly days: number;
  /** Run only the first this many slots (`snippet up --slots` runs the same); then `days` is ignored. */
  readonly slots?: number;
  readonly seed: number;
  readonly out: string;
  readonly db?: string;
  readonly resume: boolean;
  /** A CSV of real meter series to use in place of synthetic profiles. */
  readonly meterCsv?: string;
  /** Who clears the community stage; "mpc" runs it on three MPC nodes. */
  readonly engine?: EngineName;
  /** With the MPC engine: the running nodes' configuration (default: three local nodes). */
  readonly nodes?: string;
  /** The households' agents (default rule-based). */
  readonly agents?: AgentKind;
  /** Strategic agents: how far ahead they plan and how often they re-plan, hours. */
  readonly horizonHours?: number;
  readonly replanHours?: number;
  /** Post every slot and period to the ledger (in `<out>/ledger`). */
  readonly ledger?: LedgerOptions;
}

/** Where a run's files went. */
export interface SimulateOutcome {
  readonly reportPath: string;
  readonly summaryPath: string;
  /** The ledger folder, when the run posted to one. */
  readonly ledgerPath?: string;
}

/** Runs `snippet simulate`. Progress goes to `progressStream`: a bar on a terminal, JSON log lines otherwise. */
export async function simulate(
  options: SimulateOptions,
  progressStream: ProgressStream,
): Promise<SimulateOutcome> {
  const scenario = loadScenario(options.scenario);
  const grid = timeGridOf(scenario, options.days, options.slots);
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const householdIds = scenario.households.map((household) => household.id);
  const profiles =
    options.meterCsv === undefined
      ? scenarioProfiles(scenario, grid, options.seed)
      : alignedTo(householdIds, csvProfiles(readTextFile(options.meterCsv), grid));

  const progress = progressReporter(progressStream, scenario, options);
  const mpc =
    options.engine === "mpc"
      ? await MpcCommunityEngine.start({
          ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
          scenario,
          onFault: progress.fault,
        })
      : undefined;
  const solver = options.agents === "strategic" ? await workerSolver() : undefined;
  const store = await openStore(options.db, join(out, "db"));
  const csv = new SlotCsvWriter(out);
  let ledger: LedgerRun | undefined;
  try {
    if (options.ledger !== undefined) {
      // Loaded on demand: the Solidity compiler and the EVM client are heavy, and only ledger runs need them.
      const { startLedger } = await import("../ledger/simulation.ts");
      ledger = await startLedger(options.ledger, SIMULATION_BILLING_MODEL, {
        dir: join(out, "ledger"),
        households: householdIds,
        run: {
          db: options.db ?? join(out, "db"),
          id: runIdOf(scenario, options.seed, options.days, options.agents, options.slots),
        },
        resume: options.resume,
        ...(options.engine === "mpc" && options.nodes !== undefined
          ? { nodeKeys: await nodesLedgerKeys(options.nodes) }
          : {}),
      });
    }
    const result = await runSimulation({
      scenario,
      days: options.days,
      ...(options.slots === undefined ? {} : { slots: options.slots }),
      seed: options.seed,
      store,
      resume: options.resume,
      profiles,
      sinks: ledger === undefined ? [csv] : [csv, ledger],
      onProgress: progress.update,
      engine:
        mpc === undefined
          ? { name: "reference", slot: referenceSlotEngine, bill: reportingReferenceBilling(progress.fault) }
          : { name: "mpc", slot: mpc.slot, bill: mpc.bill },
      ...(solver === undefined ? {} : { agents: strategicSetup(solver, options) }),
    });
    progress.done(result.resumedFrom);
    const { summaryPath, reportPath } = writeRunOutputs(
      out,
      result.accumulator,
      `${scenario.name}: ${options.slots === undefined ? `${options.days} days` : `${options.slots} slots`}, seed ${options.seed}`,
    );
    return { reportPath, summaryPath, ...(ledger === undefined ? {} : { ledgerPath: join(out, "ledger") }) };
  } finally {
    csv.close();
    await ledger?.close();
    await store.close();
    await mpc?.close();
    await solver?.close();
  }
}

/** The running MPC nodes' ledger signing keys, from beside their configuration. */
async function nodesLedgerKeys(configPath: string): Promise<Hex[]> {
  const { loadLedgerKeys, loadNodeConfig } = await import("../roles/mpc-node/config.ts");
  return loadLedgerKeys(configPath, await loadNodeConfig(configPath));
}

export interface CompareOptions {
  readonly scenario: string;
  readonly days: number;
  readonly seed: number;
  readonly out: string;
  readonly horizonHours?: number;
  readonly replanHours?: number;
}

/** Runs `snippet compare`: writes comparison.md, comparison.json and report.html (the strategic run with the table). */
export async function compare(options: CompareOptions): Promise<{ markdown: string; reportPath: string }> {
  const scenario = loadScenario(options.scenario);
  const grid = timeGridOf(scenario, options.days);
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const solver = await workerSolver();
  try {
    const { rows, strategic } = await compareAgents({
      scenario,
      days: options.days,
      seed: options.seed,
      profiles: () => scenarioProfiles(scenario, grid, options.seed),
      // Nothing to resume: each run goes to a database in memory.
      store: () => openPgliteStore(),
      strategic: strategicSetup(solver, options),
    });
    const markdown = comparisonMarkdown(rows);
    writeFileSync(join(out, "comparison.md"), `${markdown}\n`);
    writeFileSync(
      join(out, "comparison.json"),
      `${JSON.stringify(
        {
          version: 1,
          scenario: scenario.name,
          days: options.days,
          seed: options.seed,
          rows: rows.map((row) => ({
            ...row,
            householdCostMoney: String(row.householdCostMoney),
            plainTariffMoney: String(row.plainTariffMoney),
            savingsMoney: String(row.savingsMoney),
          })),
        },
        null,
        2,
      )}\n`,
    );
    const reportPath = join(out, "report.html");
    writeFileSync(
      reportPath,
      renderReport({
        summary: strategic.summary(),
        series: strategic.series(),
        households: strategic.householdOutcomes(),
        title: `${scenario.name}: strategic agents, ${options.days} days, seed ${options.seed}`,
        comparison: rows,
      }),
    );
    return { markdown, reportPath };
  } finally {
    await solver.close();
  }
}

/** Where progress goes: a terminal (process.stderr) gets a bar, anything else JSON lines. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** A progress bar on a terminal; otherwise one JSON log line per tenth of the run, for machines. */
function progressReporter(
  stream: ProgressStream,
  scenario: Scenario,
  options: SimulateOptions,
): {
  update: (done: number, total: number) => void;
  done: (resumedFrom: number) => void;
  fault: (message: string) => void;
} {
  if (stream.isTTY === true) {
    const bar = new SingleBar(
      {
        format: "simulating [{bar}] {percentage}% | slot {value}/{total} | {eta_formatted} left",
        // A terminal stream is process.stderr, which has everything the bar needs.
        stream: stream as NodeJS.WriteStream,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update: (done, total) => {
        if (!started) {
          bar.start(total, done);
          started = true;
        } else bar.update(done);
      },
      done: () => bar.stop(),
      // A slot lost to a node fault, or a reading refused, is worth a line of its own above the bar.
      fault: (message) => stream.write(`\n${message}\n`),
    };
  }
  const log = pino(
    { base: { scenario: scenario.name, seed: options.seed, days: options.days } },
    { write: (line: string) => stream.write(line) },
  );
  let nextTenth = 1;
  return {
    update: (done, total) => {
      if (done * 10 >= nextTenth * total) {
        log.info({ slotsDone: done, slots: total }, "progress");
        nextTenth = Math.floor((done * 10) / total) + 1;
      }
    },
    done: (resumedFrom) => log.info({ resumedFrom }, "done"),
    fault: (message) => log.warn(message),
  };
}
