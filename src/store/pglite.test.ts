import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import {
  assertRefusesNewerSchema,
  runStoreContract,
  sampleSlots,
} from "../../test/support/store.contract.ts";
import { openStore } from "./open.ts";
import { openPgliteDriver, openPgliteStore } from "./pglite.ts";
import { openSqlStore } from "./sql-store.ts";

const work = mkdtempSync(join(tmpdir(), "snippet-pglite-"));
after(() => rmSync(work, { recursive: true, force: true }));

const dataDir = join(work, "db");
runStoreContract("PGlite", () => openStore(undefined, dataDir));

describe("PGlite store", () => {
  it("resumes after a SIGKILL in the middle of appends exactly after the last committed batch, and keeps others out meanwhile", async () => {
    const run = {
      id: "killed",
      scenario: "resume",
      seed: 1,
      config: {},
      householdIds: Array.from({ length: 200 }, (_, k) => `h${k}`),
    };
    const batch = 48;
    // The child appends batches until it is killed, printing the number stored after each commit.
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "--eval",
        `import { openPgliteStore } from ${JSON.stringify(new URL("./pglite.ts", import.meta.url).href)};
        import { sampleSlots } from ${JSON.stringify(new URL("../../test/support/store.contract.ts", import.meta.url).href)};
        const run = ${JSON.stringify(run)};
        const store = await openPgliteStore(${JSON.stringify(dataDir)});
        for (let stored = await store.openRun(run); ; stored += ${batch}) {
          await store.appendSlots(run.id, sampleSlots(run.householdIds, stored, ${batch}));
          process.stdout.write(stored + ${batch} + "\\n");
        }`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    let committed: number;
    try {
      committed = await new Promise<number>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`the appending child exited by itself (${code})`)));
        child.stdout.setEncoding("utf8").on("data", (lines: string) => {
          const stored = Number(lines.trim().split("\n").pop());
          if (stored >= 2 * batch) resolve(stored);
        });
      });
      await assert.rejects(
        openPgliteStore(dataDir),
        new RegExp(`PGlite store ${dataDir} is open in process ${child.pid}; PGlite allows one process`),
      );
      // At a random moment of one of the following batches.
      await setTimeout(Math.random() * 40);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }

    const store = await openPgliteStore(dataDir);
    try {
      const stored = await store.openRun(run);
      assert.equal(stored % batch, 0, `${stored} slots stored: not whole batches`);
      assert.ok(stored >= committed, `${stored} slots stored, but ${committed} were committed`);
      assert.deepStrictEqual(
        await store.readSlots(run.id, 0, stored),
        sampleSlots(run.householdIds, 0, stored),
      );
      await store.appendSlots(run.id, sampleSlots(run.householdIds, stored, batch));
      assert.equal(await store.openRun(run), stored + batch);
    } finally {
      await store.close();
    }
  });

  it("names the run, slot and column of a corrupt household column", async () => {
    const driver = await openPgliteDriver(dataDir);
    const store = await openSqlStore(driver);
    try {
      const run = { id: "corrupt", scenario: "corrupt", seed: 1, config: {}, householdIds: ["alice", "bob"] };
      await store.openRun(run);
      await store.appendSlots(run.id, sampleSlots(run.householdIds, 0, 2));
      await driver.query(
        "UPDATE snippet.slots SET money = '\\x2060'::bytea WHERE run_id = $1 AND slot_index = 1",
        [run.id],
      );
      await assert.rejects(
        store.readSlots(run.id, 0, 2),
        /run corrupt slot 1: money: malformed packed column of 2 values: value 1 has tag 3/,
      );
    } finally {
      await store.close();
    }
  });

  it("refuses a database of a newer schema version", async () => {
    await assertRefusesNewerSchema(
      () => openPgliteDriver(dataDir),
      () => openPgliteStore(dataDir),
    );
  });
});
