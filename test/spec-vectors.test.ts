/**
 * The test vectors of spec/vectors (copied under test/vectors/spec) and the worked examples of
 * docs/market-splitting.md (test/vectors/market-splitting), run through the real `snippet` process:
 * with `--indent 1` the output is the expected file byte for byte (plus the final newline), and the
 * default one-line output is the same JSON value. The clearing vectors also go through
 * `--engine mpc`, on three local node processes, and so do the billing vectors, bills and statements.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type LocalCluster, startLocalCluster } from "../src/roles/mpc-node/local-cluster.ts";
import { parseWithMoney, runSnippetProcess } from "./support/cli.ts";

const vectors = (folder: string): string => fileURLToPath(new URL(`./vectors/${folder}/`, import.meta.url));

function assertMatches(argv: readonly string[], input: string, expectedFile: string): void {
  const expected = readFileSync(expectedFile, "utf8");
  const indented = runSnippetProcess([...argv, "--indent", "1"], input);
  assert.equal(indented.code, 0, indented.stderr);
  assert.equal(indented.stderr, "");
  assert.equal(indented.stdout, `${expected}\n`);
  const oneLine = runSnippetProcess(argv, input);
  assert.deepEqual(parseWithMoney(oneLine.stdout), parseWithMoney(expected));
}

describe("snippet clear on the clearing vectors", () => {
  for (const folder of ["spec/clear", "market-splitting"]) {
    const dir = vectors(folder);
    for (const name of readdirSync(dir).filter((file) => file.endsWith(".input.json"))) {
      const base = name.replace(".input.json", "");
      it(`${folder}/${base}`, () => {
        assertMatches(["clear", `${dir}${name}`], "", `${dir}${base}.expected.json`);
      });
    }
  }
});

describe("snippet clear --engine mpc on the clearing vectors: byte for byte what the reference gives", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startLocalCluster();
  });
  after(() => cluster.stop());
  for (const folder of ["spec/clear", "market-splitting"]) {
    const dir = vectors(folder);
    for (const name of readdirSync(dir).filter((file) => file.endsWith(".input.json"))) {
      const base = name.replace(".input.json", "");
      it(`${folder}/${base}`, () => {
        const argv = ["clear", `${dir}${name}`, "--engine", "mpc", "--nodes", cluster.configPath];
        assertMatches(argv, "", `${dir}${base}.expected.json`);
      });
    }
  }
});

describe("snippet bill on the billing vectors", () => {
  const dir = vectors("spec/bill");
  for (const expected of readdirSync(dir).filter((file) => file.endsWith(".expected.json"))) {
    const [base, model] = expected.split(".") as [string, string];
    it(`${base} with ${model}`, () => {
      assertMatches(
        ["bill", "-", "--model", model],
        readFileSync(`${dir}${base}.input.json`, "utf8"),
        `${dir}${expected}`,
      );
    });
  }
});

describe("snippet bill --engine mpc on the billing vectors: byte for byte what the reference gives", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startLocalCluster();
  });
  after(() => cluster.stop());
  const dir = vectors("spec/bill");
  for (const expected of readdirSync(dir).filter((file) => file.endsWith(".expected.json"))) {
    const [base, model] = expected.split(".") as [string, string];
    it(`${base} with ${model}`, () => {
      const input = readFileSync(`${dir}${base}.input.json`, "utf8");
      assertMatches(
        ["bill", "-", "--model", model, "--engine", "mpc", "--nodes", cluster.configPath],
        input,
        `${dir}${expected}`,
      );
      const statements = (engine: string[]) =>
        runSnippetProcess(["bill", "-", "--model", model, "--statements", ...engine], input);
      const reference = statements([]);
      const mpc = statements(["--engine", "mpc", "--nodes", cluster.configPath]);
      assert.equal(mpc.code, 0, mpc.stderr);
      assert.equal(mpc.stdout, reference.stdout, "the same statements");
    });
  }
});
