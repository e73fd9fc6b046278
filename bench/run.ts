/**
 * `npm run bench`: runs every benchmark, prints a table with each figure against its target, and
 * writes the rows as JSON to bench/results/latest.json. Run it alone on the machine: figures are
 * medians, but a busy machine still skews them.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { billingBenchmarks } from "./billing.ts";
import { clearingBenchmarks } from "./clearing.ts";
import { ledgerBenchmarks } from "./ledger.ts";
import { mpcBenchmarks, mpcClearingBenchmarks } from "./mpc.ts";
import { mpcBillingBenchmarks } from "./mpc-billing.ts";
import { mpcSlotBenchmarks } from "./mpc-slot.ts";
import { nodeStoreBenchmarks } from "./node-store.ts";
import { simulationBenchmarks } from "./simulation.ts";
import { strategicBenchmarks } from "./strategic.ts";
import type { BenchRow } from "./support.ts";

/** Benchmark groups by name: `npm run bench -- clearing billing` runs only those. */
const GROUPS: Record<string, () => BenchRow[] | Promise<BenchRow[]>> = {
  clearing: clearingBenchmarks,
  billing: billingBenchmarks,
  simulation: simulationBenchmarks,
  strategic: strategicBenchmarks,
  mpc: mpcBenchmarks,
  "mpc-clearing": mpcClearingBenchmarks,
  "mpc-billing": mpcBillingBenchmarks,
  "mpc-slot": mpcSlotBenchmarks,
  "node-store": nodeStoreBenchmarks,
  ledger: ledgerBenchmarks,
};
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in GROUPS));
if (unknown.length > 0)
  throw new Error(`unknown benchmark group ${unknown.join(", ")}; groups: ${Object.keys(GROUPS).join(", ")}`);
// One group after the other: they must not compete for the two cores.
const rows: BenchRow[] = [];
for (const name of asked.length > 0 ? asked : Object.keys(GROUPS)) {
  rows.push(...(await (GROUPS[name] as () => BenchRow[] | Promise<BenchRow[]>)()));
}

const formatMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));
const table = [
  ["benchmark", "size", "median ms", "min ms", "runs", "target ms", "verdict", "note"],
  ...rows.map((row) => [
    row.name,
    row.size,
    formatMs(row.medianMs),
    formatMs(row.minMs),
    String(row.runs),
    row.targetMs === undefined ? "" : String(row.targetMs),
    row.targetMs === undefined ? "" : row.medianMs <= row.targetMs ? "meets" : "MISSES",
    row.note ?? "",
  ]),
];
const widths = (table[0] as string[]).map((_, column) =>
  Math.max(...table.map((line) => (line[column] as string).length)),
);
const render = (line: string[]): string =>
  `| ${line.map((cell, column) => cell.padEnd(widths[column] as number)).join(" | ")} |`;
const output = [
  render(table[0] as string[]),
  render(widths.map((width) => "-".repeat(width))),
  ...table.slice(1).map(render),
];
process.stdout.write(`${output.join("\n")}\n`);

const machine = {
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(totalmem() / 2 ** 30),
};
const resultsDir = new URL("./results/", import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const report = {
  date: new Date().toISOString(),
  machine,
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  rows,
};
writeFileSync(new URL("latest.json", resultsDir), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`\nJSON: bench/results/latest.json (peak RSS ${report.peakRssMiB} MiB)\n`);
