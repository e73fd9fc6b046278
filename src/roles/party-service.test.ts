import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FakeBroker } from "../../test/support/fake-broker.ts";
import { ServiceProcess } from "../../test/support/service-process.ts";
import {
  DSO_ID,
  meterIdOf,
  OPERATOR_ID,
  parseRegistry,
  privateKeyOf,
  registryKeysPath,
  signerOf,
} from "../private/registry.ts";
import { COMMUNITY_SUPPLIER, communityRegistry } from "../sim/mpc-engines.ts";
import { type ScenarioHousehold, tariffAt } from "../sim/scenario.ts";
import { loadScenario } from "../sim/scenarios.ts";
import type { BoardSlot, Calendar } from "./broker/board.ts";
import { SlotCalendar } from "./broker/calendar.ts";
import { closeMetering, closePeriod } from "./broker/close.ts";
import { sendReading } from "./meter/readings.ts";
import { NodeClient } from "./mpc-node/client.ts";
import { type LocalCluster, startLocalCluster } from "./mpc-node/local-cluster.ts";

/** Three homes on each feeder of the congested scenario; the supplier's tariff from the time-of-use one. */
const congested = loadScenario("congested-feeder");
const timeOfUse = loadScenario("winter-cooperative");
const HOUSEHOLDS = ["h00", "h01", "h02", "h16", "h17", "h18"].map((id) => {
  const { preferences: _, ...household } = congested.households.find((h) => h.id === id) as ScenarioHousehold;
  return household as ScenarioHousehold;
});
const GENERATED = communityRegistry({ ...congested, households: HOUSEHOLDS });
const operator = signerOf(GENERATED.keys, OPERATOR_ID);
/** 21:30 UTC on the last day of June: the tariff's bands change at 22:00, the billing period at midnight. */
const CALENDAR: Calendar = {
  slotMinutes: 15,
  gateMinutes: 5,
  graceMinutes: 5,
  speed: 1,
  originMs: Date.parse("2026-06-30T21:30:00Z"),
  // Market time stands ten minutes before slot 0: its gate is the next to close.
  wallAtOriginMs: Date.now() + 600_000,
  billingModel: "ucs-uniform",
};
const calendar = SlotCalendar.from(CALENDAR);
const AHEAD = 8;

/** Each home's reading: the sunny hill's homes feed in 1 kWh each, more than its 2 kWh export limit allows. */
const readingOf = (household: string) =>
  household < "h16" ? { importWh: 0, exportWh: 1000 } : { importWh: 300, exportWh: 0 };

describe("snippet supplier and snippet dso: prices published ahead, each party's aggregates stored once", () => {
  let folder: string;
  let cluster: LocalCluster;
  let client: NodeClient;
  let broker: FakeBroker;
  const services = new Map<string, ServiceProcess>();

  const start = async (command: "supplier" | "dso", config: Record<string, unknown>) => {
    const path = join(folder, `${command}.json`);
    await writeFile(
      path,
      JSON.stringify({
        broker: broker.url,
        keys: registryKeysPath(cluster.config.registryPath as string),
        party: command === "dso" ? DSO_ID : COMMUNITY_SUPPLIER,
        aheadSlots: AHEAD,
        nodes: cluster.configPath,
        health: { host: "127.0.0.1", port: 0 },
        ...config,
      }),
    );
    const service = new ServiceProcess(command, path);
    services.set(command, service);
    await service.ready();
    return service;
  };
  const linesOf = async (file: string) =>
    (await readFile(join(folder, file), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  /** Every meter reports slot `index`, its metering closes, and the board says it is billed. */
  const bill = async (index: number) => {
    const { slot } = calendar.times(index);
    for (const { id } of HOUSEHOLDS) {
      const meter = { id: meterIdOf(id), key: privateKeyOf(GENERATED.keys, "meters", meterIdOf(id)) };
      assert.equal(await sendReading(client, meter, slot, readingOf(id)), null);
    }
    await closeMetering(client, slot, operator);
    const times = calendar.times(index);
    const board: BoardSlot = {
      index,
      slot,
      phase: "billed",
      gateAt: new Date(times.gateMs).toISOString(),
      meteringCloseAt: new Date(times.meteringCloseMs).toISOString(),
      prices: { ...tariffAt(timeOfUse, times.startMs) },
    };
    broker.push(board);
  };
  const until = async (what: string, done: () => Promise<boolean> | boolean) => {
    const deadline = Date.now() + 30_000;
    while (!(await done())) {
      assert.ok(
        Date.now() < deadline,
        `${what} within 30 s:\n${[...services.values()].map((s) => s.log).join("\n")}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "snippet-party-"));
    cluster = await startLocalCluster({ registry: GENERATED });
    client = await NodeClient.connect(cluster.config);
    broker = await new FakeBroker(CALENDAR, parseRegistry(GENERATED.file)).start();
  });
  after(async () => {
    await Promise.all([...services.values()].map((service) => service.stop()));
    client?.close();
    await broker?.close();
    await cluster?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("publish the coming slots' tariffs and network fees and limits from the scenario, signed, equal to tariffAt", async () => {
    await start("supplier", { tariff: { scenario: "winter-cooperative" } });
    await start("dso", { network: { scenario: "congested-feeder" } });
    await until("both publications", () => broker.tariffs.length > 0 && broker.network.length > 0);
    const slots = Array.from({ length: AHEAD }, (_, index) => calendar.times(index));
    assert.deepEqual(broker.tariffs, [
      {
        party: COMMUNITY_SUPPLIER,
        publication: {
          slots: slots.map(({ slot, startMs }) => {
            const { feedIn, retail } = tariffAt(timeOfUse, startMs);
            return { slot, feedIn, retail };
          }),
        },
      },
    ]);
    assert.equal(
      new Set(broker.tariffs[0]?.publication.slots.map(({ retail }) => retail)).size,
      2,
      "the slots span two time-of-use bands",
    );
    assert.deepEqual(broker.network, [
      {
        party: DSO_ID,
        publication: {
          slots: slots.map(({ slot, startMs }) => ({
            slot,
            networkFee: tariffAt(congested, startMs).networkFee,
            zoneLimits: congested.zones,
          })),
        },
      },
    ]);
    assert.deepEqual(broker.refused, []);
  });

  it("store each billed slot's portfolio and zone totals, log congestion, and fetch the period's bills once it is closed", async () => {
    // Slot 9 ends June, slot 10 begins July: the supplier then waits for June's bills.
    await bill(9);
    await bill(10);
    const supplier = services.get("supplier") as ServiceProcess;
    const dso = services.get("dso") as ServiceProcess;
    await supplier.waitFor((line) => line.msg === "waiting for the period's bills", "June's bills asked for");
    await until(
      "both slots stored",
      async () => (await linesOf("supplier-results/slots.jsonl")).length === 2,
    );
    await until(
      "both zone totals stored",
      async () => (await linesOf("dso-results/slots.jsonl")).length === 2,
    );
    const portfolio = { importWh: 900, exportWh: 3000 };
    assert.deepEqual(
      (await linesOf("supplier-results/slots.jsonl")).map(({ slot, portfolio }) => ({ slot, portfolio })),
      [9, 10].map((index) => ({
        slot: calendar.times(index).slot,
        portfolio: [{ id: COMMUNITY_SUPPLIER, meters: 6, totals: portfolio }],
      })),
    );
    const zones = [
      { zone: "old-town", meters: 3, importWh: 900, exportWh: 0, netExportWh: -900, congestion: null },
      { zone: "sunny-hill", meters: 3, importWh: 0, exportWh: 3000, netExportWh: 3000, congestion: "export" },
    ];
    assert.deepEqual(
      (await linesOf("dso-results/slots.jsonl")).map(({ zones }) => zones),
      [zones, zones],
    );
    assert.equal(
      dso.lines().filter((line) => line.msg?.startsWith("congestion") && line.zone === "sunny-hill").length,
      2,
    );

    await closePeriod(client, "2026-06", operator);
    await supplier.waitFor((line) => line.msg === "stored the billing period's bills", "June's bills stored");
    // Nothing was billed on these nodes (no slot was cleared): June's bills are none, and stored as such.
    assert.deepEqual(await linesOf("supplier-results/periods.jsonl"), [{ period: "2026-06", bills: [] }]);
  });

  it("go on after a SIGKILL from where they were: nothing stored twice, nothing missed", async () => {
    await services.get("supplier")?.kill();
    await bill(11);
    await start("supplier", { tariff: { scenario: "winter-cooperative" } });
    await until("slot 11 stored", async () => (await linesOf("supplier-results/slots.jsonl")).length === 3);
    assert.deepEqual(
      (await linesOf("supplier-results/slots.jsonl")).map(({ index }) => index),
      [9, 10, 11],
    );
    assert.equal(broker.tariffs.length, 1, "the slots published before are not published again");
    assert.deepEqual(
      (await linesOf("supplier-results/periods.jsonl")).map(({ period }) => period),
      ["2026-06"],
    );
  });
});
