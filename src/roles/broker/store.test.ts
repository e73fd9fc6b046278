import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runBrokerStoreContract } from "../../../test/support/broker-store.contract.ts";
import { openPgliteDriver } from "../../store/pglite.ts";
import { openBrokerStore } from "./store.ts";

const work = mkdtempSync(join(tmpdir(), "snippet-broker-store-"));
after(() => rmSync(work, { recursive: true, force: true }));

runBrokerStoreContract("PGlite", () => openBrokerStore(join(work, "contract")));

describe("the broker's PGlite store", () => {
  it("refuses a second opening of its folder while the first is open, with a sentence naming both", async () => {
    const folder = join(work, "locked");
    const store = await openBrokerStore(folder);
    try {
      await assert.rejects(openBrokerStore(folder), {
        name: "OperationalError",
        message: new RegExp(
          `^cannot open the broker's store ${folder}: PGlite store ${folder} is open in process ${process.pid}; `,
        ),
      });
    } finally {
      await store.close();
    }
    await (await openBrokerStore(folder)).close();
  });

  it("refuses tables a newer snippet wrote", async () => {
    const folder = join(work, "newer");
    await (await openBrokerStore(folder)).close();
    const driver = await openPgliteDriver(folder);
    await driver.query("UPDATE snippet_broker.schema_version SET version = 2");
    await driver.close();
    await assert.rejects(openBrokerStore(folder), {
      name: "OperationalError",
      message: `cannot open the broker's store ${folder}: it has broker schema version 2, and this snippet knows only version 1: upgrade snippet to use it`,
    });
  });
});
