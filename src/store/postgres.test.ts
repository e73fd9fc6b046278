import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type PostgresTestServer, startPostgresTestServer } from "../../test/support/postgres-test-server.ts";
import {
  assertRefusesNewerSchema,
  runStoreContract,
  sampleSlots,
} from "../../test/support/store.contract.ts";
import { openStore } from "./open.ts";
import { openPostgresDriver, openPostgresStore } from "./postgres.ts";

// Fails, never skips, without the server binaries: CI must install them (see postgres-test-server.ts).
let server: PostgresTestServer;
let contractUrl: string;
before(async () => {
  server = await startPostgresTestServer();
  contractUrl = await server.createDatabase("contract");
});
after(() => server?.stop());

runStoreContract("PostgreSQL", () => openPostgresStore(contractUrl));

describe("PostgreSQL store", () => {
  it("lets one of two stores appending the same slots at once win, and the other fail", async () => {
    const [first, second] = await Promise.all([
      openPostgresStore(contractUrl),
      openPostgresStore(contractUrl),
    ]);
    try {
      const run = { id: "race", scenario: "race", seed: 3, config: {}, householdIds: ["alice", "bob"] };
      await Promise.all([first.openRun(run), second.openRun(run)]);
      const results = await Promise.allSettled([
        first.appendSlots(run.id, sampleSlots(run.householdIds, 0, 50)),
        second.appendSlots(run.id, sampleSlots(run.householdIds, 0, 50)),
      ]);
      assert.deepEqual(results.map((result) => result.status).sort(), ["fulfilled", "rejected"]);
      assert.match(
        String((results.find((result) => result.status === "rejected") as PromiseRejectedResult).reason),
        /cannot append slots 0\.\.49: 50 slots are stored/,
      );
      assert.equal(await first.openRun(run), 50);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it("names the server it cannot reach, without its password", async () => {
    await assert.rejects(
      openStore("postgresql://snippet:secret@127.0.0.1:1/runs", "unused-default-dir"),
      /^Error: PostgreSQL store postgresql:\/\/snippet:\*\*\*@127\.0\.0\.1:1\/runs: .*ECONNREFUSED/,
    );
  });

  it("refuses a database of a newer schema version", async () => {
    const url = await server.createDatabase("newer");
    await assertRefusesNewerSchema(
      () => openPostgresDriver(url),
      () => openPostgresStore(url),
    );
  });
});
