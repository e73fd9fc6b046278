/**
 * MPC engine benchmarks (issue 5): three `snippet node` processes over mutual TLS on loopback, a
 * client that shares real inputs and checks every output against plain 64-bit arithmetic, and the
 * MP-SPDZ figures measured on this kind of machine (research/mpspdz-anchor.md §8) beside ours.
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { clearCommunity } from "../src/market/clear.ts";
import type { ClearRequest } from "../src/market/types.ts";
import { prepareClear } from "../src/private/clearing/encode.ts";
import type { ClearPublic } from "../src/private/clearing/program.ts";
import { NodeClient } from "../src/roles/mpc-node/client.ts";
import type { JobStats } from "../src/roles/mpc-node/jobs.ts";
import { startLocalCluster } from "../src/roles/mpc-node/local-cluster.ts";
import { encodeBook, type GridOrder, searchReference } from "../test/support/price-search-reference.ts";
import { type BenchRow, median, seededIntegers } from "./support.ts";

/** One primitive workload and MP-SPDZ's figure for the same work. */
interface Workload {
  name: string;
  program: string;
  params: Record<string, unknown>;
  /** Operations the job performs (for rates and per-operation bytes). */
  operations: number;
  inputs: BigUint64Array;
  expected: (inputs: BigUint64Array) => BigUint64Array;
  /** MP-SPDZ replicated-ring, -E ring: seconds (middle of the measured range), rounds, bytes per op. */
  anchor?: { seconds: number; rounds: number; bytesPerOperation: number; bar: string };
}

const MILLION = 1_000_000;

const SNIPPET = fileURLToPath(new URL("../bin/snippet.js", import.meta.url));

function randomValues(count: number, bits: number, seed: number): BigUint64Array {
  let state = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  const out = new BigUint64Array(count);
  const shift = BigInt(64 - bits);
  for (let i = 0; i < count; i++) {
    state = BigInt.asUintN(64, state * 6364136223846793005n + 1442695040888963407n);
    out[i] = state >> shift;
  }
  return out;
}

function pairwise(inputs: BigUint64Array, f: (a: bigint, b: bigint) => bigint): BigUint64Array {
  const n = inputs.length / 2;
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(inputs[i] as bigint, inputs[n + i] as bigint);
  return out;
}

function workloads(): Workload[] {
  const n = MILLION;
  return [
    {
      name: "multiplication, 2 dependent rounds of 10^6",
      program: "multiply",
      params: { n, depth: 2 },
      operations: 2 * n,
      inputs: randomValues(2 * n, 64, 1),
      expected: (inputs) => pairwise(inputs, (a, b) => BigInt.asUintN(64, a * b * b)),
      anchor: { seconds: 0.285, rounds: 2, bytesPerOperation: 8, bar: ">= 7e6 multiplications/s" },
    },
    {
      name: "comparison a < b, 62-bit values (63-bit difference)",
      program: "compare",
      params: { n, bits: 63 },
      operations: n,
      inputs: randomValues(2 * n, 62, 2),
      expected: (inputs) => pairwise(inputs, (a, b) => (a < b ? 1n : 0n)),
      anchor: { seconds: 3.3, rounds: 9, bytesPerOperation: 38.25, bar: "<= 3.3 s, <= 9 rounds, <= 38 B" },
    },
    {
      name: "comparison a < b, 15-bit values (16-bit difference)",
      program: "compare",
      params: { n, bits: 16 },
      operations: n,
      inputs: randomValues(2 * n, 15, 3),
      expected: (inputs) => pairwise(inputs, (a, b) => (a < b ? 1n : 0n)),
      anchor: { seconds: 0.2, rounds: 7, bytesPerOperation: 15, bar: "<= 0.2 s" },
    },
    {
      name: "equality a = b, 64-bit values",
      program: "equals",
      params: { n, bits: 64 },
      operations: n,
      inputs: (() => {
        const values = randomValues(2 * n, 64, 4);
        for (let i = 0; i < n; i += 2) values[n + i] = values[i] as bigint;
        return values;
      })(),
      expected: (inputs) => pairwise(inputs, (a, b) => (a === b ? 1n : 0n)),
    },
    {
      name: "shuffle of 10^6 rows",
      program: "shuffle",
      params: { rows: n, columns: 1 },
      operations: n,
      inputs: randomValues(n, 64, 5),
      // A permutation: checked as equal multisets.
      expected: (inputs) => inputs.slice().sort(),
    },
  ];
}

/** Timed runs per workload, after warm-up runs that let V8 compile the kernels (the nodes are long-lived services). */
const RUNS = 3;
const WARMUP_RUNS = 2;

export async function mpcBenchmarks(): Promise<BenchRow[]> {
  const cluster = await startLocalCluster({ timeoutMs: 60_000 });
  const client = await NodeClient.connect(cluster.config);
  const rows: BenchRow[] = [];
  const comparison: string[][] = [];
  try {
    for (const workload of workloads()) {
      const expected = workload.expected(workload.inputs);
      const times: number[] = [];
      const walls: number[] = [];
      let stats: JobStats[] = [];
      for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
        const started = performance.now();
        const outcome = await client.run(workload.program, workload.params, workload.inputs);
        const wall = performance.now() - started;
        const outputs = workload.program === "shuffle" ? outcome.outputs.slice().sort() : outcome.outputs;
        if (outputs.length !== expected.length || outputs.some((v, i) => v !== expected[i])) {
          throw new Error(`${workload.name}: the MPC result differs from plain arithmetic`);
        }
        if (run < WARMUP_RUNS) continue;
        stats = outcome.stats;
        times.push(Math.max(...stats.map((s) => s.protocolMs)));
        walls.push(wall);
      }
      const protocolMs = median(times);
      const rounds = stats[0]?.rounds ?? 0;
      const bytes = stats.map((s) => s.bytesSent / workload.operations);
      const meanBytes = bytes.reduce((a, b) => a + b, 0) / bytes.length;
      const maxBytes = Math.max(...bytes);
      const anchor = workload.anchor;
      rows.push({
        name: `mpc ${workload.name}`,
        size: `${workload.operations}`,
        medianMs: protocolMs,
        minMs: Math.min(...times),
        runs: RUNS,
        ...(anchor === undefined ? {} : { targetMs: anchor.seconds * 1000 }),
        note:
          `${rounds} rounds, ${meanBytes.toFixed(1)} B/op per party (max ${maxBytes.toFixed(1)}), ` +
          `${((workload.operations / protocolMs) * 1000).toExponential(2)} op/s; client wall ${median(walls).toFixed(0)} ms`,
      });
      if (anchor !== undefined) {
        comparison.push([
          workload.name,
          `${(protocolMs / 1000).toFixed(3)} s / ${anchor.seconds} s`,
          (anchor.seconds / (protocolMs / 1000)).toFixed(2),
          `${rounds} / ${anchor.rounds}`,
          `${maxBytes.toFixed(1)} / ${anchor.bytesPerOperation}`,
          anchor.bar,
        ]);
      }
    }
  } finally {
    client.close();
    await cluster.stop();
  }
  printTable(
    "MPC primitives vs MP-SPDZ replicated-ring (-E ring), 3 processes, TLS, this machine:",
    [
      "workload (10^6 each)",
      "time: ours / MP-SPDZ",
      "speed-up",
      "rounds: ours / MP-SPDZ",
      "B per op, busiest party: ours / MP-SPDZ",
      "bar",
    ],
    comparison,
  );
  return rows;
}

function printTable(title: string, header: string[], lines: string[][]): void {
  const table = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...table.map((l) => (l[c] as string).length)));
  const render = (l: string[]) => `| ${l.map((cell, c) => cell.padEnd(widths[c] as number)).join(" | ")} |`;
  process.stdout.write(
    `\n${title}\n${[render(header), render(widths.map((w) => "-".repeat(w))), ...lines.map(render)].join("\n")}\n\n`,
  );
}

/** MP-SPDZ's search-based clearing, `-E ring -b 100000` (research/mpspdz-anchor.md §0 and §5). */
const ANCHOR_CLEARING = new Map([
  [1_000, { seconds: 0.048, rounds: 282, megabytes: 0.27, wallSeconds: 0.31 }],
  [2_500, { seconds: 0.071, rounds: 282, megabytes: 0.68, wallSeconds: 0.37 }],
  [5_000, { seconds: 0.091, rounds: 298, megabytes: 1.35, wallSeconds: 0.4 }],
  [10_000, { seconds: 0.106, rounds: 298, megabytes: 2.69, wallSeconds: 0.39 }],
  [100_000, { seconds: 0.75, rounds: 298, megabytes: 26.84, wallSeconds: 1.37 }],
]);

/** A book like the anchor's generator: half buys, half sells, limits uniform on the grid, 1 … 2^20 Wh. */
function anchorBook(count: number, seed: number): { buys: GridOrder[]; sells: GridOrder[] } {
  const random = seededIntegers(seed);
  const side = (size: number) =>
    Array.from({ length: size }, () => ({
      volumeWh: random.next(1, 2 ** 20),
      limitPrice: random.next(0, 65535),
    }));
  return { buys: side(Math.floor(count / 2)), sells: side(count - Math.floor(count / 2)) };
}

/**
 * The anchor workload (issue 6): the search-based clearing exactly as MP-SPDZ's program computes it,
 * at 1,000 … 100,000 orders, then once with 20 ms added per message to show what rounds cost on a
 * real network.
 */
export async function mpcClearingBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const lines: string[][] = [];
  const cluster = await startLocalCluster({ timeoutMs: 60_000 });
  const client = await NodeClient.connect(cluster.config);
  try {
    for (const [count, anchor] of ANCHOR_CLEARING) {
      const { buys, sells } = anchorBook(count, count);
      const expected = searchReference(buys, sells);
      const { inputs, bitWords } = encodeBook(buys, sells);
      const params = { buys: buys.length, sells: sells.length, volumeBits: 20 };
      const times: number[] = [];
      const walls: number[] = [];
      let stats: JobStats[] = [];
      for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
        const started = performance.now();
        const outcome = await client.run("auction-search", params, inputs, { bitWords });
        const wall = performance.now() - started;
        const fills = [...outcome.outputs].map(Number);
        const price = (outcome.public as { clearingPrice: number }).clearingPrice;
        if (
          price !== expected.clearingPrice ||
          fills.join() !== [...expected.buyFillsWh, ...expected.sellFillsWh].join()
        ) {
          throw new Error(`auction search at ${count} orders differs from the plaintext search`);
        }
        if (run < WARMUP_RUNS) continue;
        stats = outcome.stats;
        times.push(Math.max(...stats.map((s) => s.protocolMs)));
        walls.push(wall);
      }
      const protocolMs = median(times);
      const rounds = stats[0]?.rounds ?? 0;
      const megabytes = stats.map((s) => s.bytesSent / 1e6);
      const meanMegabytes = megabytes.reduce((a, b) => a + b, 0) / 3;
      rows.push({
        name: "mpc anchor clearing (search, fills)",
        size: `${count} orders`,
        medianMs: protocolMs,
        minMs: Math.min(...times),
        runs: RUNS,
        ...(count === 10_000 ? { targetMs: 100 } : {}),
        note: `${rounds} rounds, ${meanMegabytes.toFixed(2)} MB per party (max ${Math.max(...megabytes).toFixed(2)}); client wall ${median(walls).toFixed(0)} ms`,
      });
      lines.push([
        String(count),
        `${(protocolMs / 1000).toFixed(3)} / ${anchor.seconds}`,
        (anchor.seconds / (protocolMs / 1000)).toFixed(2),
        `${rounds} / ${anchor.rounds}`,
        `${meanMegabytes.toFixed(2)} / ${anchor.megabytes}`,
        `${(median(walls) / 1000).toFixed(2)} / ${anchor.wallSeconds}`,
      ]);
    }
    for (const count of ANCHOR_CLEARING.keys()) rows.push(await fullClearing(client, count));
    rows.push(await fullClearing(client, 10_000, 4));
    rows.push(await clearProcess(client, cluster.configPath, 10_000));
  } finally {
    client.close();
    await cluster.stop();
  }
  rows.push(await delayedClearing(20));
  printTable(
    "Anchor clearing vs MP-SPDZ (same program, -E ring -b 100000), 3 processes, TLS, this machine:",
    [
      "orders",
      "protocol s: ours / MP-SPDZ",
      "speed-up",
      "rounds: ours / MP-SPDZ",
      "MB per party: ours / MP-SPDZ",
      "client wall s / MP-SPDZ end-to-end",
    ],
    lines,
  );
  return rows;
}

/**
 * A slot of `count` orders like the anchor's book, as `snippet clear` takes it; with `zones`, the
 * orders spread over that many feeder zones whose limits are tight enough to split some off.
 */
function clearRequest(count: number, zones = 0): ClearRequest {
  const { buys, sells } = anchorBook(count, count + 1);
  const orders = [
    ...buys.map((o, i) => ({ id: `b${i}`, side: "buy" as const, ...o })),
    ...sells.map((o, i) => ({ id: `s${i}`, side: "sell" as const, ...o })),
  ];
  const request = { version: 1 as const, slot: "2026-06-01T12:00:00Z", prices: { feedIn: 0, retail: 65535 } };
  if (zones === 0) return { ...request, orders };
  return {
    ...request,
    orders: orders.map((order, k) => ({ ...order, zone: `z${k % zones}` })),
    zones: Array.from({ length: zones }, (_, z) => ({
      id: `z${z}`,
      exportLimitWh: ZONE_LIMIT_WH,
      importLimitWh: ZONE_LIMIT_WH,
    })),
  };
}

/** The zones' limits in the zoned benchmark: 0.3 % of what a zone trades, so two of four split off. */
const ZONE_LIMIT_WH = 1_000_000;

/** The full clearing of spec/market.md through the `clear` program, checked against the reference. */
async function fullClearing(client: NodeClient, count: number, zones = 0): Promise<BenchRow> {
  const request = clearRequest(count, zones);
  const reference = clearCommunity(request);
  const expected = JSON.stringify(reference);
  const prepared = prepareClear(request);
  const times: number[] = [];
  let stats: JobStats[] = [];
  for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
    const outcome = await client.run("clear", prepared.params, prepared.inputs, {
      bitWords: prepared.bitWords,
    });
    if (JSON.stringify(prepared.finish(outcome.public as ClearPublic, outcome.outputs)) !== expected) {
      throw new Error(`the private clearing of ${count} orders differs from the reference`);
    }
    if (run < WARMUP_RUNS) continue;
    stats = outcome.stats;
    times.push(Math.max(...stats.map((s) => s.protocolMs)));
  }
  const megabytes = stats.map((s) => s.bytesSent / 1e6);
  const target = zones > 0 ? undefined : count === 10_000 ? 250 : count === 100_000 ? 2000 : undefined;
  const split = reference.zones?.filter((zone) => zone.clearingPrice !== reference.clearingPrice).length;
  return {
    name:
      zones > 0
        ? `mpc full clearing, ${zones} feeder zones (${split} split off)`
        : "mpc full clearing (validation, p*, rationing)",
    size: `${count} orders`,
    medianMs: median(times),
    minMs: Math.min(...times),
    runs: RUNS,
    ...(target === undefined ? {} : { targetMs: target }),
    note: `${stats[0]?.rounds} rounds${target === 250 ? " (bar 300)" : ""}, ${(megabytes.reduce((a, b) => a + b, 0) / 3).toFixed(2)} MB per party`,
  };
}

/** Runs of the whole `snippet clear` process: each is short, and process starts vary more than jobs. */
const PROCESS_RUNS = 7;

/**
 * `snippet clear --engine mpc --nodes …` as a user runs it against running nodes, from process start
 * to exit: Node's start, loading the CLI, reading and validating the request, dialling the nodes, the
 * job and printing; the output checked against the reference engine's. Beside it, what the two
 * parts it cannot shorten take on this machine: an empty Node process, and the job in a client
 * that is already running (the nodes' protocol time and the round trip).
 */
async function clearProcess(client: NodeClient, configPath: string, count: number): Promise<BenchRow> {
  const folder = await mkdtemp(join(tmpdir(), "snippet-bench-"));
  const input = join(folder, "request.json");
  try {
    await writeFile(input, JSON.stringify(clearRequest(count)));
    const snippet = (...args: string[]) =>
      execFileSync(process.execPath, [SNIPPET, "clear", ...args, input], {
        encoding: "utf8",
        maxBuffer: 2 ** 28,
      });
    const expected = snippet();
    const prepared = prepareClear(clearRequest(count));
    const times: number[] = [];
    const emptyProcess: number[] = [];
    const job: number[] = [];
    for (let run = 0; run < WARMUP_RUNS + PROCESS_RUNS; run++) {
      let started = performance.now();
      const output = snippet("--engine", "mpc", "--nodes", configPath);
      const wall = performance.now() - started;
      if (output !== expected)
        throw new Error(`snippet clear --engine mpc differs from the reference at ${count} orders`);
      started = performance.now();
      execFileSync(process.execPath, ["-e", ""]);
      const empty = performance.now() - started;
      started = performance.now();
      await client.run("clear", prepared.params, prepared.inputs, { bitWords: prepared.bitWords });
      const inClient = performance.now() - started;
      if (run < WARMUP_RUNS) continue;
      times.push(wall);
      emptyProcess.push(empty);
      job.push(inClient);
    }
    return {
      name: "snippet clear --engine mpc --nodes, process start to exit",
      size: `${count} orders`,
      medianMs: median(times),
      minMs: Math.min(...times),
      runs: PROCESS_RUNS,
      targetMs: 400,
      note:
        `against running nodes; an empty node process ${median(emptyProcess).toFixed(0)} ms, ` +
        `the job from a running client ${median(job).toFixed(0)} ms`,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** 10,000 orders with a delay on every message between nodes: round count × delay dominates. */
async function delayedClearing(delayMs: number): Promise<BenchRow> {
  const cluster = await startLocalCluster({ timeoutMs: 60_000, delayMs });
  const client = await NodeClient.connect(cluster.config);
  try {
    const { buys, sells } = anchorBook(10_000, 10_000);
    const { inputs, bitWords } = encodeBook(buys, sells);
    const params = { buys: buys.length, sells: sells.length, volumeBits: 20 };
    await client.run("auction-search", params, inputs, { bitWords });
    const outcome = await client.run("auction-search", params, inputs, { bitWords });
    const stats = outcome.stats;
    const protocolMs = Math.max(...stats.map((s) => s.protocolMs));
    return {
      name: `mpc anchor clearing, +${delayMs} ms per message`,
      size: "10000 orders",
      medianMs: protocolMs,
      minMs: protocolMs,
      runs: 1,
      note: `${stats[0]?.rounds} rounds; MP-SPDZ's 298 rounds would cost ≥ ${((298 * delayMs) / 1000).toFixed(1)} s`,
    };
  } finally {
    client.close();
    await cluster.stop();
  }
}
