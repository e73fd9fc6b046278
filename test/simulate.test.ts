/**
 * `snippet simulate` as a user runs it: the outputs of a run, byte-identical for the same seed, and a
 * run killed with SIGKILL that resumes from its last stored slot to exactly the same outputs.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { freePorts, stopProcess } from "../src/system/processes.ts";
import { runSnippetProcess, SNIPPET_BIN } from "./support/cli.ts";
import { startPostgresTestServer } from "./support/postgres-test-server.ts";

const work = mkdtempSync(join(tmpdir(), "snippet-simulate-"));
after(() => rmSync(work, { recursive: true, force: true }));

const OUTPUT_FILES = ["summary.json", "orders.csv", "trades.csv", "readings.csv", "bills.csv", "report.html"];
const args = (out: string, days: number): string[] => [
  "simulate",
  "--scenario",
  "default",
  "--days",
  String(days),
  "--seed",
  "5",
  "--out",
  out,
];

describe("snippet simulate", () => {
  it("writes the summary, the CSVs and the report, the same bytes for the same seed", () => {
    const first = runSnippetProcess(args(join(work, "a"), 2));
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /report: .*report\.html/);
    const second = runSnippetProcess(args(join(work, "b"), 2));
    assert.equal(second.code, 0, second.stderr);
    for (const file of OUTPUT_FILES) {
      assert.ok(
        readFileSync(join(work, "a", file)).equals(readFileSync(join(work, "b", file))),
        `${file} differs`,
      );
    }
    const summary = JSON.parse(readFileSync(join(work, "a", "summary.json"), "utf8"));
    for (const field of [
      "households",
      "slots",
      "slotsCleared",
      "communityTradedWh",
      "bilateralWh",
      "donatedWh",
      "supplierBoughtWh",
      "supplierSoldWh",
      "savingsMoney",
      "supplierDeviationBalanceMoney",
      "selfSufficiency",
      "engine",
      "seed",
    ]) {
      assert.ok(field in summary, `summary.json lacks ${field}`);
    }
    assert.equal(summary.households, 30);
    assert.equal(summary.slots, 192);
  });

  /** Runs a simulation with each engine and checks the outputs are the same. */
  function assertEnginesAgree(name: string, simulateArgs: (out: string) => string[]): void {
    const reference = runSnippetProcess(simulateArgs(join(work, `${name}-reference`)));
    assert.equal(reference.code, 0, reference.stderr);
    const mpc = runSnippetProcess([...simulateArgs(join(work, `${name}-mpc`)), "--engine", "mpc"]);
    assert.equal(mpc.code, 0, mpc.stderr);
    for (const file of ["orders.csv", "trades.csv", "readings.csv", "bills.csv"]) {
      assert.ok(
        readFileSync(join(work, `${name}-mpc`, file)).equals(
          readFileSync(join(work, `${name}-reference`, file)),
        ),
        `${file} differs`,
      );
    }
    const summaryOf = (engine: string) =>
      JSON.parse(readFileSync(join(work, `${name}-${engine}`, "summary.json"), "utf8"));
    assert.deepEqual({ ...summaryOf("mpc"), engine: "reference" }, summaryOf("reference"), "same summary");
    assert.equal(summaryOf("mpc").engine, "mpc");
  }

  it("with --engine mpc clears every slot on three MPC nodes, to the same outputs as the reference", () => {
    assertEnginesAgree("default", (out) => args(out, 1));
  });

  it("with --engine mpc and strategic agents, representatives included, to the same outputs as the reference", () => {
    assertEnginesAgree("strategic", (out) => [
      "simulate",
      "--scenario",
      "winter-cooperative",
      "--days",
      "1",
      "--seed",
      "2",
      "--agents",
      "strategic",
      "--out",
      out,
    ]);
  });

  it("with --engine mpc splits congested feeder zones on the nodes as the reference does", () => {
    // The congested feeder: on its first day, sunny middays split the hill off.
    assertEnginesAgree("zoned", (out) => [
      "simulate",
      "--scenario",
      "congested-feeder",
      "--days",
      "1",
      "--seed",
      "1",
      "--out",
      out,
    ]);
    const pricesBySlot = new Map<string, Set<string>>();
    for (const line of readFileSync(join(work, "zoned-mpc", "trades.csv"), "utf8").split("\n")) {
      const [slot = "", , stage, , , , price = ""] = line.split(",");
      if (stage === "community") pricesBySlot.set(slot, (pricesBySlot.get(slot) ?? new Set()).add(price));
    }
    assert.ok(
      [...pricesBySlot.values()].some((prices) => prices.size > 1),
      "some slot priced a split-off zone on its own",
    );
  });

  it("with --engine mpc --nodes runs on nodes started from node-config --scenario, to the same outputs, and posts to the ledger as those nodes", async () => {
    const folder = join(work, "nodes");
    const made = runSnippetProcess(["node-config", "--out", folder, "--scenario", "default"]);
    assert.equal(made.code, 0, made.stderr);
    // Free ports for the six listeners, written into the generated configuration.
    const ports = await freePorts(6);
    const config = JSON.parse(readFileSync(join(folder, "nodes.json"), "utf8"));
    config.nodes.forEach((node: { port: number; clientPort: number }, k: number) => {
      node.port = ports[k] as number;
      node.clientPort = ports[3 + k] as number;
    });
    writeFileSync(join(folder, "nodes.json"), JSON.stringify(config));
    assert.equal(config.registry, "registry.json");
    const nodes = [0, 1, 2].map((party) =>
      spawn(
        process.execPath,
        [SNIPPET_BIN, "node", "--config", join(folder, "nodes.json"), "--party", String(party)],
        {
          stdio: ["ignore", "ignore", "pipe"],
        },
      ),
    );
    try {
      await Promise.all(
        nodes.map(
          (node) =>
            new Promise<void>((resolve, reject) => {
              let log = "";
              node.stderr.on("data", (chunk: Buffer) => {
                log += chunk.toString();
                if (log.includes('"event":"ready"')) resolve();
              });
              node.once("exit", (code) => reject(new Error(`a node exited (${code}): ${log}`)));
            }),
        ),
      );
      const reference = runSnippetProcess(args(join(work, "nodes-reference"), 1));
      assert.equal(reference.code, 0, reference.stderr);
      // Asynchronously: the nodes' logs must keep flowing while the simulation runs.
      const simulation = spawn(
        process.execPath,
        [
          SNIPPET_BIN,
          ...args(join(work, "nodes-mpc"), 1),
          "--engine",
          "mpc",
          "--nodes",
          join(folder, "nodes.json"),
          "--ledger",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      simulation.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => simulation.on("exit", resolve));
      assert.equal(code, 0, stderr);
      for (const file of ["orders.csv", "trades.csv", "readings.csv", "bills.csv"])
        assert.ok(
          readFileSync(join(work, "nodes-mpc", file)).equals(
            readFileSync(join(work, "nodes-reference", file)),
          ),
          `${file} differs`,
        );
      // The ledger's node set is the running nodes' ledger keys, as node-config listed them.
      const deployment = JSON.parse(
        readFileSync(join(work, "nodes-mpc", "ledger", "deployment.json"), "utf8"),
      );
      assert.deepEqual(
        deployment.nodes,
        config.nodes.map((node: { ledgerAddress: string }) => node.ledgerAddress),
      );
    } finally {
      await Promise.all(nodes.map((node) => stopProcess(node)));
    }
  });

  it("runs on real meter series from a CSV, in any row order, and names a household the CSV lacks", () => {
    // The half-hourly scenario: 20 households, 48 slots a day. Rows written household by household, last first.
    const start = Date.parse("2026-04-13T00:00:00Z");
    const rows = ["timestamp,household,importWh,exportWh"];
    for (let h = 19; h >= 0; h--) {
      for (let slot = 0; slot < 48; slot++) {
        const time = new Date(start + slot * 1_800_000).toISOString();
        const midday = slot >= 20 && slot < 32;
        rows.push(
          `${time},h${String(h).padStart(2, "0")},${midday ? (h % 2) * 200 : 150 + h * 10},${midday && h % 2 === 0 ? 600 : 0}`,
        );
      }
    }
    const csvFile = join(work, "meters.csv");
    writeFileSync(csvFile, `${rows.join("\n")}\n`);
    const csvArgs = ["simulate", "--scenario", "half-hourly-brokers", "--days", "1", "--meter-csv", csvFile];
    const run = runSnippetProcess([...csvArgs, "--out", join(work, "csv")]);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(readFileSync(join(work, "csv", "summary.json"), "utf8"));
    assert.equal(summary.households, 20);
    assert.ok(summary.communityTradedWh > 0, "midday surpluses traded in the community");

    writeFileSync(csvFile, `${rows.filter((row) => !row.includes(",h07,")).join("\n")}\n`);
    const lacking = runSnippetProcess([...csvArgs, "--out", join(work, "csv-lacking")]);
    assert.equal(lacking.code, 2);
    assert.match(lacking.stderr, /--meter-csv: has no series for "h07"/);
  });

  it("stores in a PostgreSQL server with --db, to the same outputs as the embedded database", async () => {
    const server = await startPostgresTestServer();
    try {
      const url = await server.createDatabase("snippet_simulate");
      const run = runSnippetProcess([...args(join(work, "pg"), 2), "--db", url]);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(!existsSync(join(work, "pg", "db")), "no embedded database was made");
      for (const file of OUTPUT_FILES) {
        assert.ok(
          readFileSync(join(work, "pg", file)).equals(readFileSync(join(work, "a", file))),
          `${file} differs`,
        );
      }
    } finally {
      await server.stop();
    }
  });

  it("with --agents strategic plans every household's devices, the same bytes for the same seed", () => {
    const strategicArgs = (out: string): string[] => [
      ...args(out, 1),
      "--agents",
      "strategic",
      "--replan-hours",
      "2",
    ];
    for (const out of ["strategic-a", "strategic-b"]) {
      const run = runSnippetProcess(strategicArgs(join(work, out)));
      assert.equal(run.code, 0, run.stderr);
    }
    for (const file of OUTPUT_FILES) {
      assert.ok(
        readFileSync(join(work, "strategic-a", file)).equals(readFileSync(join(work, "strategic-b", file))),
        `${file} differs`,
      );
    }
    const rule = runSnippetProcess(args(join(work, "rule-1day"), 1));
    assert.equal(rule.code, 0, rule.stderr);
    assert.ok(
      !readFileSync(join(work, "strategic-a", "readings.csv")).equals(
        readFileSync(join(work, "rule-1day", "readings.csv")),
      ),
      "strategic agents move the devices: other meter readings",
    );
  });

  it("compare writes the table of rule-based against strategic agents, in Markdown, JSON and the report", () => {
    const out = join(work, "compare");
    const run = runSnippetProcess([
      "compare",
      "--scenario",
      "winter-cooperative",
      "--days",
      "1",
      "--out",
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\| agents \| household cost \|/);
    assert.match(run.stdout, /\| rule-based \|/);
    assert.match(run.stdout, /\| strategic \| .* \(−?\+?[0-9.,]+ ?%\)/);
    const comparison = JSON.parse(readFileSync(join(out, "comparison.json"), "utf8"));
    assert.deepEqual(
      comparison.rows.map((row: { agents: string }) => row.agents),
      ["rule-based", "strategic"],
    );
    assert.equal(
      readFileSync(join(out, "comparison.md"), "utf8").trim(),
      run.stdout.split("\nreport:")[0]?.trim(),
    );
    assert.match(
      readFileSync(join(out, "report.html"), "utf8"),
      /Rule-based and strategic agents, same scenario and seed/,
    );
  });

  it("refuses to overwrite a stored run without --resume", () => {
    const again = runSnippetProcess(args(join(work, "a"), 2));
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already has 192 of 192 slots stored/);
  });

  it("resumes a run killed with SIGKILL from its last stored slot, to the same outputs", async () => {
    const days = 6;
    const whole = runSnippetProcess(args(join(work, "whole"), days));
    assert.equal(whole.code, 0, whole.stderr);

    const killedOut = join(work, "killed");
    const child = spawn(process.execPath, [SNIPPET_BIN, ...args(killedOut, days)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let progress = "";
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    child.stderr.on("data", (chunk: Buffer) => {
      progress += chunk.toString();
      // Kill it past the third of the run: some days are stored, the run is not finished.
      const done = [...progress.matchAll(/"slotsDone":(\d+)/g)].map((match) => Number(match[1]));
      if (done.some((slots) => slots >= 0.3 * days * 96)) child.kill("SIGKILL");
    });
    assert.equal(await exit, "SIGKILL");
    assert.ok(!existsSync(join(killedOut, "summary.json")), "the killed run did not finish");

    const resumed = runSnippetProcess([...args(killedOut, days), "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /"resumedFrom":[1-9]\d*/);
    for (const file of OUTPUT_FILES) {
      assert.ok(
        readFileSync(join(killedOut, file)).equals(readFileSync(join(work, "whole", file))),
        `${file} differs`,
      );
    }
  });
});
