import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { generateRawKeyPair } from "../../private/keys.ts";
import { generateRegistry } from "../../private/registry.ts";
import { freePorts } from "../../system/processes.ts";
import { generateNodeConfig } from "../mpc-node/config.ts";
import { serviceLogger } from "../service.ts";
import { BrokerClient } from "./client.ts";
import { calendarSettingsOf, type DeclaredCalendar, loadBrokerConfig } from "./config.ts";
import { startBroker } from "./start.ts";

const work = mkdtempSync(join(tmpdir(), "snippet-broker-start-"));
after(() => rmSync(work, { recursive: true, force: true }));

const log = serviceLogger("broker-test", { level: "silent" });
let nodesPath: string;

before(async () => {
  const ports = await freePorts(6);
  nodesPath = await generateNodeConfig(join(work, "deployment", "nodes"), {
    host: "127.0.0.1",
    basePort: 0,
    ports: [ports[0], ports[1], ports[2]] as [number, number, number],
    clientPorts: [ports[3], ports[4], ports[5]] as [number, number, number],
    registry: generateRegistry({ households: [{ id: "h0", zone: "z0", supplier: "s0" }] }),
  });
});

/** Writes broker.json in the deployment folder with `changes`, and its path. */
function writeConfig(name: string, changes: Record<string, unknown> = {}): string {
  const path = join(work, "deployment", name);
  const config = {
    listen: { host: "127.0.0.1", port: 0 },
    store: `${name}-db`,
    nodes: "nodes/nodes.json",
    keys: "nodes/registry.keys.json",
    operator: "operator",
    calendar: {
      slotMinutes: 15,
      gateMinutes: 5,
      graceMinutes: 5,
      speed: 1,
      origin: "2030-01-01T00:00:00Z",
      slots: 4,
    },
    billingModel: "ucs-uniform",
    ...changes,
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

describe("broker.json", () => {
  it("resolves its paths against its own folder, a PostgreSQL URL as it is", () => {
    const config = loadBrokerConfig(writeConfig("paths.json"));
    assert.equal(config.store, join(work, "deployment", "paths.json-db"));
    assert.equal(config.nodes, nodesPath);
    assert.equal(config.keys, join(dirname(nodesPath), "registry.keys.json"));
    assert.equal(config.calendar.startDelaySeconds, 0, "the default");
    const url = "postgresql://broker@127.0.0.1:5432/board";
    assert.equal(loadBrokerConfig(writeConfig("url.json", { store: url })).store, url);
  });

  it("names the file and each bad field", () => {
    const path = writeConfig("bad.json", {
      listen: { host: "127.0.0.1", port: 70_000 },
      calendar: { slotMinutes: 7, gateMinutes: 5, graceMinutes: -1, origin: "2030-01-01T00:05:00Z" },
      billingModel: "pay-as-bid",
      extra: true,
    });
    assert.throws(
      () => loadBrokerConfig(path),
      (error: Error) => {
        for (const line of [
          `${path}: (input): unknown field "extra"`,
          `${path}: listen.port: 70000 is not a port (0..65535)`,
          `${path}: calendar.slotMinutes: does not divide a day`,
          `${path}: calendar.graceMinutes: -1 is negative`,
          `${path}: billingModel: "pay-as-bid" is not one of ucs-uniform, ucs-proportional`,
        ])
          assert.ok(error.message.includes(line), `${line}\nin\n${error.message}`);
        return error.name === "ValidationError";
      },
    );
    assert.throws(
      () =>
        loadBrokerConfig(
          writeConfig("misaligned.json", {
            calendar: { slotMinutes: 15, gateMinutes: 5, graceMinutes: 5, origin: "2030-01-01T00:05:00Z" },
          }),
        ),
      /calendar.origin: 2030-01-01T00:05:00Z is not at a slot boundary \(slots start every 15 minutes from midnight UTC\)/,
    );
    assert.throws(
      () =>
        loadBrokerConfig(
          writeConfig("origin.json", {
            calendar: { slotMinutes: 15, gateMinutes: 5, graceMinutes: 5, origin: "soon" },
          }),
        ),
      /calendar.origin: "soon" is neither "next" nor an ISO 8601 time/,
    );
  });
});

describe("the calendar fixed at the first start", () => {
  const declared: DeclaredCalendar = {
    slotMinutes: 15,
    gateMinutes: 5,
    graceMinutes: 5,
    speed: 60,
    origin: "2026-06-01T00:00:00Z",
    startDelaySeconds: 10,
  };
  const startMs = Date.parse("2030-03-03T10:12:34.567Z");

  it("with an origin: one slot length before it, startDelay after the start, so slot 0 has a whole planning window", () => {
    const settings = calendarSettingsOf(declared, startMs);
    assert.equal(settings.originMs, Date.parse("2026-06-01T00:00:00Z"));
    assert.equal(settings.wallAtOriginMs, startMs + 10_000 + 15_000);
  });

  it('"next": the first slot boundary of the wall clock whose gate is at least startDelay away, market time = wall time there', () => {
    const live = calendarSettingsOf({ ...declared, origin: "next", speed: 1 }, startMs);
    // 10:12:34 + 10 s + the 5-minute gate = 10:17:44: the next boundary is 10:30.
    assert.equal(live.originMs, Date.parse("2030-03-03T10:30:00Z"));
    assert.equal(live.wallAtOriginMs, live.originMs);
    const early = calendarSettingsOf(
      { ...declared, origin: "next", speed: 1, startDelaySeconds: 0 },
      Date.parse("2030-03-03T10:09:00Z"),
    );
    assert.equal(early.originMs, Date.parse("2030-03-03T10:15:00Z"), "its gate (10:10) is ahead");
  });
});

describe("startBroker", () => {
  it("serves its calendar, keeps it across a restart, and refuses a restart with other settings in a sentence", async () => {
    const path = writeConfig("restart.json");
    const first = await startBroker(loadBrokerConfig(path), { log, configPath: path });
    const client = new BrokerClient(`http://127.0.0.1:${first.apiPort}`);
    const calendar = await client.calendar();
    await first.stop();
    assert.equal(await first.market, "stopped");
    const again = await startBroker(loadBrokerConfig(path), { log, configPath: path });
    assert.deepEqual(await new BrokerClient(`http://127.0.0.1:${again.apiPort}`).calendar(), calendar);
    await again.stop();
    const faster = writeConfig("restart.json", {
      calendar: {
        slotMinutes: 15,
        gateMinutes: 5,
        graceMinutes: 5,
        speed: 2,
        origin: "2030-01-01T00:00:00Z",
        slots: 4,
      },
      billingModel: "ucs-proportional",
    });
    await assert.rejects(startBroker(loadBrokerConfig(faster), { log, configPath: faster }), {
      name: "OperationalError",
      message:
        `the store ${join(work, "deployment", "restart.json-db")} holds a market begun with calendar.speed 1, not 2, ` +
        `billingModel "ucs-uniform", not "ucs-proportional" as ${faster} now says: restore those settings, or start a new market with a new store`,
    });
  });

  it("refuses a key that is not the operator's, an operator not registered, a port in use and a ledger, each in a sentence", async () => {
    const keys = join(work, "deployment", "wrong.keys.json");
    writeFileSync(
      keys,
      JSON.stringify({ parties: { operator: generateRawKeyPair().privateHex }, meters: {} }),
    );
    const wrongKey = writeConfig("wrong-key.json", { keys: "wrong.keys.json" });
    await assert.rejects(startBroker(loadBrokerConfig(wrongKey), { log, configPath: wrongKey }), {
      name: "OperationalError",
      message: `the key of operator in ${keys} is not the one the nodes' registry holds for it`,
    });
    const notOperator = writeConfig("not-operator.json", { operator: "s0" });
    await assert.rejects(startBroker(loadBrokerConfig(notOperator), { log, configPath: notOperator }), {
      name: "OperationalError",
      message: `s0 is not the operator in the nodes' registry: set "operator" to the operator's party id`,
    });
    const [port] = await freePorts(1);
    const taken = writeConfig("taken.json", { listen: { host: "127.0.0.1", port } });
    const holder = await startBroker(loadBrokerConfig(taken), { log, configPath: taken });
    try {
      const second = writeConfig("second.json", { listen: { host: "127.0.0.1", port } });
      await assert.rejects(startBroker(loadBrokerConfig(second), { log, configPath: second }), {
        name: "OperationalError",
        message: `port ${port} on 127.0.0.1 is already in use: stop what listens there or choose another port`,
      });
    } finally {
      await holder.stop();
    }
    const ledger = writeConfig("ledger.json", { ledger: "ledger" });
    await assert.rejects(startBroker(loadBrokerConfig(ledger), { log, configPath: ledger }), {
      name: "ValidationError",
      message: `${ledger}: ledger: the broker cannot post to a ledger yet: leave it out`,
    });
  });
});
