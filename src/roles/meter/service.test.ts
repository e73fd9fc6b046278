import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt, { type MqttClient } from "mqtt";
import { FakeBroker } from "../../../test/support/fake-broker.ts";
import { type LogLine, ServiceProcess } from "../../../test/support/service-process.ts";
import { meterIdOf, OPERATOR_ID, parseRegistry, registryKeysPath, signerOf } from "../../private/registry.ts";
import { communityRegistry } from "../../sim/mpc-engines.ts";
import type { ScenarioHousehold } from "../../sim/scenario.ts";
import { loadScenario } from "../../sim/scenarios.ts";
import { type EmbeddedMqtt, startEmbeddedMqtt } from "../../system/mqtt.ts";
import type { Calendar } from "../broker/board.ts";
import { SlotCalendar } from "../broker/calendar.ts";
import { closeMetering } from "../broker/close.ts";
import { ownReadings } from "../household/figures.ts";
import { NodeClient } from "../mpc-node/client.ts";
import { type LocalCluster, startLocalCluster } from "../mpc-node/local-cluster.ts";
import { readingTopic } from "./bus.ts";
import { syntheticReadings } from "./synthetic-source.ts";

/** Four homes of the default scenario, without the partners they would trade with. */
const scenario = loadScenario("default");
const HOUSEHOLDS = scenario.households
  .slice(0, 4)
  .map(({ preferences: _, ...household }) => household as ScenarioHousehold);
const GENERATED = communityRegistry({ ...scenario, households: HOUSEHOLDS });
const METERS = HOUSEHOLDS.map((household) => meterIdOf(household.id));
const operator = signerOf(GENERATED.keys, OPERATOR_ID);
const ORIGIN_MS = Date.parse(scenario.start);
const slotAt = (index: number, originMs = ORIGIN_MS) =>
  new Date(originMs + index * 15 * 60_000).toISOString();

const calendar = (settings: Partial<Calendar>): Calendar => ({
  slotMinutes: 15,
  gateMinutes: 5,
  graceMinutes: 5,
  speed: 1,
  originMs: ORIGIN_MS,
  wallAtOriginMs: Date.now(),
  billingModel: "ucs-uniform",
  ...settings,
});

/**
 * A TCP link from the meter service to a node's client port that the test cuts and mends: the node
 * is down for the meter while the link is cut (TLS runs through it, end to end).
 */
class Link {
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(private readonly target: number) {}

  async mend(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = createConnection({ host: "127.0.0.1", port: this.target });
      for (const socket of [inbound, outbound]) {
        this.#sockets.add(socket);
        socket.once("close", () => this.#sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      inbound.pipe(outbound).pipe(inbound);
      inbound.once("close", () => outbound.destroy());
      outbound.once("close", () => inbound.destroy());
    });
    await new Promise<void>((done) => server.listen(this.port, "127.0.0.1", done));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const closed = new Promise((done) => this.#server?.close(done));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}

const delivered = (slot: string) => (line: LogLine) => line.msg === "delivered" && line.slot === slot;

describe("snippet meter: readings from the home bus, a CSV series, buffered and sent to the three nodes", () => {
  let folder: string;
  let cluster: LocalCluster;
  let client: NodeClient;
  let bus: EmbeddedMqtt;
  let home: MqttClient;
  let broker: FakeBroker;
  let links: Link[];
  /** The nodes' configuration as the meter service sees them: through the links. */
  let nodesPath: string;
  const services: ServiceProcess[] = [];

  /** Writes a meter service's config and starts it. */
  const startMeter = async (name: string, config: Record<string, unknown>): Promise<ServiceProcess> => {
    const path = join(folder, `${name}.json`);
    await writeFile(
      path,
      JSON.stringify({
        nodes: nodesPath,
        keys: registryKeysPath(cluster.config.registryPath as string),
        meters: "all",
        broker: broker.url,
        buffer: `${name}-buffer`,
        health: { host: "127.0.0.1", port: 0 },
        ...config,
      }),
    );
    const service = new ServiceProcess("meter", path);
    services.push(service);
    await service.ready();
    return service;
  };
  const publish = (meter: string, payload: unknown) =>
    home.publishAsync(readingTopic(meter), typeof payload === "string" ? payload : JSON.stringify(payload), {
      qos: 1,
    });
  /** The buffer's complete lines: a line still being written (no newline yet) is not on disk whole. */
  const bufferedOf = async (name: string) =>
    (await readFile(join(folder, `${name}-buffer`, "readings.jsonl"), "utf8")).split("\n").slice(0, -1);

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "snippet-meter-"));
    cluster = await startLocalCluster({ registry: GENERATED, timeoutMs: 2000 });
    client = await NodeClient.connect(cluster.config);
    links = cluster.config.nodes.map((node) => new Link(node.clientPort));
    for (const link of links) await link.mend();
    const nodes = JSON.parse(await readFile(cluster.configPath, "utf8"));
    const at = (path: string) => resolve(dirname(cluster.configPath), path);
    nodesPath = join(folder, "nodes.json");
    await writeFile(
      nodesPath,
      JSON.stringify({
        ...nodes,
        registry: at(nodes.registry),
        nodes: nodes.nodes.map((node: { certificate: string }, party: number) => ({
          ...node,
          certificate: at(node.certificate),
          clientPort: links[party]?.port,
        })),
      }),
    );
    bus = await startEmbeddedMqtt({ host: "127.0.0.1", port: 0 });
    home = await mqtt.connectAsync(bus.url, { reconnectPeriod: 0 });
    broker = await new FakeBroker(calendar({}), parseRegistry(GENERATED.file)).start();
  });
  after(async () => {
    await Promise.all(services.map((service) => service.stop()));
    for (const link of links ?? []) await link.cut();
    client?.close();
    await home?.endAsync();
    await bus?.close();
    await broker?.close();
    await cluster?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("sends each reading published on the bus to all three nodes, and refuses a malformed one alone, naming the field", async () => {
    const meter = await startMeter("bus", { source: { kind: "mqtt", url: bus.url } });
    for (const [m, id] of METERS.entries())
      await publish(id, { slot: slotAt(0), importWh: 100 + m, exportWh: 0 });
    await publish(METERS[0] as string, { slot: slotAt(1), importWh: -3, exportWh: 0 });
    await publish(METERS[1] as string, { slot: slotAt(1), importWh: 5, exportWh: 0, extra: 1 });
    await publish(METERS[2] as string, "{not json");
    await publish(METERS[3] as string, { slot: "2026-06-01T00:07:00Z", importWh: 5, exportWh: 0 });
    // Given in another zone, the same slot as the calendar names it.
    await publish(METERS[1] as string, { slot: "2026-06-01T02:15:00+02:00", importWh: 7, exportWh: 1 });
    await publish(METERS[2] as string, { slot: slotAt(1), importWh: 0, exportWh: 30 });

    for (const slot of [slotAt(0), slotAt(1)]) {
      const count = slot === slotAt(0) ? 4 : 2;
      await meter.waitFor(
        () => meter.lines().filter(delivered(slot)).length === count,
        `${count} readings of ${slot}`,
      );
    }
    const refusals = meter.lines().filter((line) => line.msg === "refused a malformed reading");
    assert.deepEqual(
      refusals.map(({ meter, field }) => ({ meter, field })),
      [
        { meter: METERS[0], field: "importWh" },
        { meter: METERS[1], field: "(input)" },
        { meter: METERS[2], field: "(input)" },
        { meter: METERS[3], field: "slot" },
      ],
      meter.log,
    );
    assert.match(String(refusals[0]?.reason), /-3 is negative/);
    assert.match(String(refusals[1]?.reason), /unknown field "extra"/);
    const first = await closeMetering(client, slotAt(0), operator);
    assert.deepEqual([first.reported, first.missing], [4, []]);
    const second = await closeMetering(client, slotAt(1), operator);
    assert.deepEqual([second.reported, second.missing], [2, [METERS[0], METERS[3]]]);
    const health = await fetch(`http://127.0.0.1:${(await meter.ready()).healthPort}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {
      service: "meter",
      status: "ok",
      meters: 4,
      source: "mqtt",
      bus: "up",
      nodes: "up",
      buffered: 0,
    });
  });

  it("keeps what it took while a node cannot be reached; killed and started again, sends it once all three are back, each reading once", async () => {
    const [bus1] = services;
    assert.ok(bus1 !== undefined);
    assert.equal(await bus1.stop(), 0, "the first service stops gracefully");
    await links[2]?.cut();
    const first = await startMeter("restart", { source: { kind: "mqtt", url: bus.url } });
    for (const [m, id] of METERS.entries())
      await publish(id, { slot: slotAt(2), importWh: 0, exportWh: 200 + m });
    await first.waitFor(
      (line) => line.msg === "the nodes cannot be reached: readings stay buffered",
      "nodes down",
    );
    // Each reading is on disk before the bus is told it was received.
    const deadline = Date.now() + 20_000;
    while ((await bufferedOf("restart")).filter((line) => line.includes(slotAt(2))).length < 4) {
      assert.ok(Date.now() < deadline, "the readings reach the buffer");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await first.kill();
    assert.equal(first.lines().filter(delivered(slotAt(2))).length, 0, "nothing could be sent");
    await links[2]?.mend();

    const second = await startMeter("restart", { source: { kind: "mqtt", url: bus.url } });
    // It starts sending what it buffered at once (the link is mended): by its ready line some may be gone.
    const buffered = (await second.ready()).buffered as number;
    assert.ok(buffered >= 1 && buffered <= 4, `it restarted with its buffered readings (${buffered})`);
    await second.waitFor(() => second.lines().filter(delivered(slotAt(2))).length === 4, "4 readings sent");
    const closed = await closeMetering(client, slotAt(2), operator);
    assert.deepEqual([closed.reported, closed.missing, closed.late], [4, [], []]);
    // Sent once each: no reading delivered twice, none late, and nothing left in the buffer.
    const sent = second
      .lines()
      .filter(delivered(slotAt(2)))
      .map((line) => line.meter);
    assert.deepEqual([...sent].sort(), [...METERS].sort());
    assert.equal(second.lines().filter((line) => line.msg?.startsWith("the reading came late")).length, 0);
    const health = await fetch(`http://127.0.0.1:${(await second.ready()).healthPort}/health`);
    assert.equal(((await health.json()) as { buffered: number }).buffered, 0);
  });

  it("sends a CSV series' readings, and the synthetic homes', of their meters once each slot has ended", async () => {
    const settings = calendar({
      originMs: ORIGIN_MS + 86_400_000,
      wallAtOriginMs: Date.now() + 6_000,
      speed: 300,
    });
    const fast = await new FakeBroker(settings, parseRegistry(GENERATED.file)).start();
    try {
      const origin = settings.originMs;
      const rows = [0, 1].flatMap((index) =>
        METERS.map((id, m) => `${slotAt(index, origin)},${id},${10 * index + m},0\n`),
      );
      // The columns in another order than the documented one: the header says which is which.
      await writeFile(join(folder, "readings.csv"), `slot,meter,importWh,exportWh\n${rows.join("")}`);
      const [csv, synthetic] = await Promise.all([
        startMeter("csv", {
          meters: METERS.slice(0, 2),
          broker: fast.url,
          source: { kind: "csv", path: "readings.csv" },
        }),
        startMeter("synthetic", {
          meters: METERS.slice(2),
          broker: fast.url,
          source: { kind: "synthetic", scenario: "default", seed: 5 },
        }),
      ]);
      for (const meter of [csv, synthetic])
        for (const index of [0, 1])
          await meter.waitFor(
            () => meter.lines().filter(delivered(slotAt(index, origin))).length === 2,
            `slot ${index}'s readings`,
          );
      const expected = syntheticReadings(scenario, 5, SlotCalendar.from(settings), [
        ...HOUSEHOLDS.slice(2).map(({ id }) => ({ id: meterIdOf(id), household: id })),
      ]);
      for (const index of [0, 1]) {
        const slot = slotAt(index, origin);
        const closed = await closeMetering(client, slot, operator);
        assert.deepEqual([closed.reported, closed.missing], [4, []]);
        // Each home reads, on the nodes, what its CSV row or its synthetic home gave.
        const read = await Promise.all(
          HOUSEHOLDS.map(
            async ({ id }) => (await ownReadings(client, [slot], signerOf(GENERATED.keys, id)))[0],
          ),
        );
        assert.deepEqual(read, [
          { importWh: 10 * index, exportWh: 0 },
          { importWh: 10 * index + 1, exportWh: 0 },
          ...expected(index).map(({ importWh, exportWh }) => ({ importWh, exportWh })),
        ]);
      }
    } finally {
      await fast.close();
    }
  });
});
