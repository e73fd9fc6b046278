/**
 * `snippet up` as a person trying snippet runs it: every role a separate process talking over real
 * sockets, on an accelerated clock; after K slots its outputs equal `snippet simulate --slots K`'s for
 * the same scenario and seed, byte for byte, but for the engine's name. A deployment folder is not
 * overwritten, and `--resume` with other parameters is refused, naming them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runSnippetProcess } from "./support/cli.ts";

const work = mkdtempSync(join(tmpdir(), "snippet-up-"));
after(() => rmSync(work, { recursive: true, force: true }));

const SLOTS = 6;
const SEED = 3;
const CSV_FILES = ["orders.csv", "trades.csv", "readings.csv", "bills.csv"];

/** A command line of `snippet up` or `snippet simulate` for the default scenario's first slots. */
const run = (command: "up" | "simulate", out: string, seed: number, ...extra: string[]): string[] => [
  command,
  "--scenario",
  "default",
  "--seed",
  String(seed),
  "--slots",
  String(SLOTS),
  ...(command === "up" ? ["--speed", "180"] : []),
  "--out",
  out,
  ...extra,
];

describe("snippet up", () => {
  it("runs the community as separate services and writes what snippet simulate writes", () => {
    const live = join(work, "live");
    const ran = runSnippetProcess(run("up", live, SEED));
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /dashboard: http:\/\/127\.0\.0\.1:\d+\//);
    const simulated = join(work, "simulated");
    const simulation = runSnippetProcess(run("simulate", simulated, SEED));
    assert.equal(simulation.code, 0, simulation.stderr);
    for (const file of CSV_FILES)
      assert.equal(
        readFileSync(join(live, file), "utf8"),
        readFileSync(join(simulated, file), "utf8"),
        `${file} differs from snippet simulate's`,
      );
    const liveSummary = JSON.parse(readFileSync(join(live, "summary.json"), "utf8"));
    const simulatedSummary = JSON.parse(readFileSync(join(simulated, "summary.json"), "utf8"));
    assert.equal(liveSummary.engine, "mpc");
    assert.deepEqual({ ...liveSummary, engine: "reference" }, simulatedSummary);
    assert.equal(liveSummary.slots, SLOTS);
  });

  it("refuses to overwrite a deployment, and to resume it with other parameters", () => {
    const live = join(work, "live");
    const again = runSnippetProcess(run("up", live, SEED));
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds a deployment: resume it with --resume/);
    const other = runSnippetProcess(run("up", live, 4, "--resume"));
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--seed: the deployment in .* was made with seed 3, not 4/);
  });
});
