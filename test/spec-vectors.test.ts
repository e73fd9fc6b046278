/**
 * The test vectors of spec/vectors (copied under test/vectors/spec) and the worked examples of
 * docs/market-splitting.md (test/vectors/market-splitting), run through the real `snippet` process.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseWithMoney, runSnippetProcess } from "./support/cli.ts";

const vectors = (folder: string): string => fileURLToPath(new URL(`./vectors/${folder}/`, import.meta.url));
const read = (path: string): unknown => parseWithMoney(readFileSync(path, "utf8"));

describe("snippet clear on the clearing vectors", () => {
  for (const folder of ["spec/clear", "market-splitting"]) {
    const dir = vectors(folder);
    for (const name of readdirSync(dir).filter((file) => file.endsWith(".input.json"))) {
      const base = name.replace(".input.json", "");
      it(`${folder}/${base}`, () => {
        const run = runSnippetProcess(["clear", `${dir}${name}`]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, "");
        assert.deepEqual(parseWithMoney(run.stdout), read(`${dir}${base}.expected.json`));
      });
    }
  }
});

describe("snippet bill on the billing vectors", () => {
  const dir = vectors("spec/bill");
  for (const expected of readdirSync(dir).filter((file) => file.endsWith(".expected.json"))) {
    const [base, model] = expected.split(".") as [string, string];
    it(`${base} with ${model}`, () => {
      const input = readFileSync(`${dir}${base}.input.json`, "utf8");
      const run = runSnippetProcess(["bill", "-", "--model", model], input);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(parseWithMoney(run.stdout), read(`${dir}${expected}`));
    });
  }
});
