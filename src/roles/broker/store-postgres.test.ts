import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runBrokerStoreContract } from "../../../test/support/broker-store.contract.ts";
import {
  type PostgresTestServer,
  startPostgresTestServer,
} from "../../../test/support/postgres-test-server.ts";
import { openBrokerStore } from "./store.ts";

// Fails, never skips, without the server binaries: CI must install them (see postgres-test-server.ts).
let server: PostgresTestServer;
let url: string;
before(async () => {
  server = await startPostgresTestServer();
  url = await server.createDatabase("broker");
});
after(() => server?.stop());

runBrokerStoreContract("PostgreSQL", () => openBrokerStore(url));

describe("the broker's PostgreSQL store", () => {
  it("names the server it cannot reach, without its password", async () => {
    await assert.rejects(openBrokerStore("postgresql://broker:secret@127.0.0.1:1/board"), {
      name: "OperationalError",
      message:
        /^cannot open the broker's store postgresql:\/\/broker:\*\*\*@127\.0\.0\.1:1\/board: .*ECONNREFUSED/,
    });
  });
});
