/**
 * A market for tests of household devices: a scripted board (in process, or over HTTP with live
 * updates as the broker serves them) on local nodes with a scenario's registry, the broker's steps
 * as the broker runs them (clear, close metering, bill from what the nodes keep), meters that take
 * the homes' readings from an embedded MQTT bus and send them to the nodes, and the reference: what
 * `snippet simulate` records for the same slots.
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import mqtt from "mqtt";
import pino from "pino";
import type { SlotRecord } from "../../src/billing/record.ts";
import type { BillingModel } from "../../src/billing/types.ts";
import { privateKeyOf, type RegistryKeys, signerOf } from "../../src/private/registry.ts";
import type { BoardEvent, BoardSlot, Calendar, SlotPrices } from "../../src/roles/broker/board.ts";
import { type CalendarSettings, SlotCalendar } from "../../src/roles/broker/calendar.ts";
import { NodeSteps } from "../../src/roles/broker/nodes.ts";
import type { BoardSource } from "../../src/roles/household/runner.ts";
import { sendReading } from "../../src/roles/meter/readings.ts";
import { NodeClient } from "../../src/roles/mpc-node/client.ts";
import { type LocalCluster, startLocalCluster } from "../../src/roles/mpc-node/local-cluster.ts";
import { serveHttp } from "../../src/roles/service.ts";
import { type AgentSetup, communityOf, SIMULATION_BILLING_MODEL } from "../../src/sim/community.ts";
import { homeRandoms, scenarioProfiles } from "../../src/sim/home.ts";
import { communityRegistry } from "../../src/sim/mpc-engines.ts";
import { parseScenario, type Scenario, tariffAt } from "../../src/sim/scenario.ts";
import { REFERENCE_ENGINES, type SlotEngines, simulateSlot } from "../../src/sim/slot.ts";
import { type EmbeddedMqtt, startEmbeddedMqtt } from "../../src/system/mqtt.ts";

/**
 * A street of five in two feeder zones at midday: Alice sells to Bob and donates to the hospital,
 * Carol and Dan (with a battery) sell in the community, the hospital buys; the south feeder's export
 * limit binds.
 */
export const STREET = parseScenario({
  version: 1,
  name: "street",
  roles: "S1",
  start: "2026-06-01T10:00:00Z",
  slotMinutes: 15,
  site: { latitudeDeg: 50.85, longitudeDeg: 4.35, meanTemperatureC: 10.5, cloudiness: 0.55 },
  tariff: { feedIn: 500, retail: 2800, networkFee: 350 },
  forecastErrorFraction: 0.1,
  zones: [
    { id: "north", exportLimitWh: 4000, importLimitWh: 4000 },
    { id: "south", exportLimitWh: 300, importLimitWh: 4000 },
  ],
  households: [
    {
      id: "alice",
      zone: "north",
      assets: { annualKwh: 3200, pv: { kWp: 5.5, tiltDeg: 40, azimuthDeg: 15 } },
      preferences: {
        offers: [
          { partner: "bob", price: 1500, capWh: 400 },
          { partner: "hospital", price: 0, capWh: 300 },
        ],
        eagerness: 0.6,
      },
    },
    {
      id: "bob",
      zone: "north",
      assets: { annualKwh: 2800 },
      preferences: { accepts: [{ partner: "alice", capWh: 400, maxPrice: 1800 }] },
    },
    {
      id: "hospital",
      zone: "north",
      assets: { annualKwh: 60000 },
      physicalCapacityW: 43470,
      preferences: { accepts: [{ partner: "alice", capWh: 300 }], eagerness: 0.8 },
    },
    {
      id: "carol",
      zone: "south",
      assets: { annualKwh: 4200, pv: { kWp: 6.5, tiltDeg: 30, azimuthDeg: 30 } },
    },
    {
      id: "dan",
      zone: "south",
      assets: {
        annualKwh: 1900,
        pv: { kWp: 3.5, tiltDeg: 25, azimuthDeg: 0 },
        battery: { capacityKwh: 10, powerKw: 5 },
      },
    },
  ],
});
/** The board of a test: slots put on it in the test's order, followed by any number of readers. */
export class TestBoard implements BoardSource {
  readonly #events: BoardEvent[] = [];
  readonly #latest = new Map<number, BoardSlot>();
  #wake: (() => void)[] = [];
  readonly times: SlotCalendar;

  constructor(readonly settings: TestCalendar) {
    this.times = new SlotCalendar(settings);
  }

  async calendar(): Promise<Calendar> {
    return this.settings;
  }

  /** The slot's latest state. */
  slot(index: number): BoardSlot | undefined {
    return this.#latest.get(index);
  }

  put(slot: BoardSlot): void {
    this.#latest.set(slot.index, slot);
    this.#events.push({ seq: this.#events.length, type: "slot", slot });
    for (const wake of this.#wake.splice(0)) wake();
  }

  async *events(options: { after?: number; signal: AbortSignal }): AsyncGenerator<BoardEvent> {
    let next = (options.after ?? -1) + 1;
    while (!options.signal.aborted) {
      const event = this.#events[next];
      if (event !== undefined) {
        next++;
        yield event;
        continue;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          options.signal.removeEventListener("abort", done);
          resolve();
        };
        this.#wake.push(done);
        options.signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}

/** The board over HTTP as the broker serves it: `GET /api/calendar` and the live updates `GET /api/events`. */
export async function serveTestBoard(board: TestBoard): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  app.get("/api/calendar", async (c) => c.json(await board.calendar()));
  app.get("/api/events", (c) => {
    const after = Number(c.req.header("last-event-id") ?? c.req.query("after") ?? -1);
    return streamSSE(c, async (stream) => {
      const aborted = new AbortController();
      stream.onAbort(() => aborted.abort());
      for await (const event of board.events({ after, signal: aborted.signal }))
        await stream.writeSSE({ id: String(event.seq), event: "slot", data: JSON.stringify(event) });
    });
  });
  const server = await serveHttp(app, { host: "127.0.0.1", port: 0 });
  return { url: `http://127.0.0.1:${server.port}`, close: () => server.close() };
}

/** A test board's calendar. */
export type TestCalendar = CalendarSettings & { readonly billingModel: BillingModel };

/** A calendar of the scenario's slots whose ends are all past on the wall clock: readings go out at once. */
export function pastCalendar(scenario: Scenario, slots: number): TestCalendar {
  return {
    slotMinutes: scenario.slotMinutes,
    gateMinutes: 5,
    graceMinutes: 5,
    speed: 1,
    originMs: Date.parse(scenario.start),
    wallAtOriginMs: Date.now() - 86_400_000,
    slots,
    billingModel: SIMULATION_BILLING_MODEL,
  };
}

/**
 * What `snippet simulate` records for the first `slots` slots: with rule-based agents and the
 * reference engines, or the `agents` given and the engines `enginesOf` gives a slot (one left
 * uncleared, one with a meter that did not report).
 */
export async function referenceRecords(
  scenario: Scenario,
  seed: number,
  slots: number,
  options: { agents?: AgentSetup; enginesOf?: (index: number) => SlotEngines } = {},
): Promise<SlotRecord[]> {
  const community = communityOf(scenario, options.agents);
  const startMs = Date.parse(scenario.start);
  const profiles = scenarioProfiles(
    scenario,
    { startMs, slotMinutes: scenario.slotMinutes, slotCount: slots },
    seed,
  );
  const homeRandom = homeRandoms(seed);
  const records: SlotRecord[] = [];
  for (let index = 0; index < slots; index++) {
    const slotStartMs = startMs + index * scenario.slotMinutes * 60_000;
    records.push(
      await simulateSlot(
        community,
        {
          index,
          startMs: slotStartMs,
          prices: tariffAt(scenario, slotStartMs),
          forecasts: profiles.slot(index),
          conditions: profiles.conditions?.(index) as NonNullable<
            ReturnType<NonNullable<typeof profiles.conditions>>
          >,
          homeRandom: (id) => homeRandom(id, index),
        },
        options.enginesOf?.(index) ?? REFERENCE_ENGINES,
      ),
    );
  }
  return records;
}

/** Local nodes with the scenario's registry, the broker's steps on them, and meters on an MQTT bus. */
export class TestMarket {
  readonly #steps: NodeSteps;
  /** Each meter's readings by slot, as they came on the bus (a repeat must be the same). */
  readonly readings = new Map<string, Map<string, { importWh: number; exportWh: number }>>();
  #waiting: (() => void)[] = [];

  private constructor(
    readonly scenario: Scenario,
    readonly cluster: LocalCluster,
    readonly keys: RegistryKeys,
    readonly bus: EmbeddedMqtt,
    readonly meters: mqtt.MqttClient,
    readonly client: NodeClient,
  ) {
    this.#steps = new NodeSteps({
      config: cluster.config,
      operator: signerOf(keys, "operator"),
      model: SIMULATION_BILLING_MODEL,
      log: pino({ level: "silent" }),
    });
    meters.on("message", (topic, payload) => {
      const meter = topic.split("/")[2] as string;
      const { slot, importWh, exportWh } = JSON.parse(String(payload));
      const kept = this.readings.get(meter) ?? new Map();
      this.readings.set(meter, kept);
      const before = kept.get(slot);
      if (before !== undefined && (before.importWh !== importWh || before.exportWh !== exportWh))
        throw new Error(`meter ${meter} read slot ${slot} twice, differently`);
      kept.set(slot, { importWh, exportWh });
      for (const wake of this.#waiting.splice(0)) wake();
    });
  }

  static async start(scenario: Scenario): Promise<TestMarket> {
    const registry = communityRegistry(scenario);
    const cluster = await startLocalCluster({ registry });
    const bus = await startEmbeddedMqtt({ host: "127.0.0.1", port: 0 });
    const meters = await mqtt.connectAsync(bus.url, { clientId: "test-meters", clean: true });
    await meters.subscribeAsync("snippet/meters/+/reading", { qos: 1 });
    return new TestMarket(
      scenario,
      cluster,
      registry.keys,
      bus,
      meters,
      await NodeClient.connect(cluster.config),
    );
  }

  /** The broker opens slot `index` (with the scenario's tariffs). */
  open(board: TestBoard, index: number): void {
    const times = board.times.times(index);
    board.put({
      index,
      slot: times.slot,
      phase: "open",
      gateAt: new Date(times.gateMs).toISOString(),
      meteringCloseAt: new Date(times.meteringCloseMs).toISOString(),
      prices: tariffAt(this.scenario, times.startMs),
    });
  }

  /** The broker clears the slot on the nodes at its gate. */
  async clear(board: TestBoard, index: number): Promise<void> {
    const open = board.slot(index) as BoardSlot;
    board.put({ ...open, phase: "cleared", clearing: await this.#steps.clear(open.slot, pricesOf(open)) });
  }

  /** The broker leaves the slot to the suppliers (a node down at its gate). */
  uncleared(board: TestBoard, index: number): void {
    board.put({
      ...(board.slot(index) as BoardSlot),
      phase: "uncleared",
      uncleared: "node 1 (node-b) is down",
    });
  }

  /**
   * The meters send what the homes published for the slot (all but `withheld`), and at metering
   * close the broker closes its metering and bills it on the nodes.
   */
  async bill(
    board: TestBoard,
    index: number,
    meterIds: readonly string[],
    withheld: readonly string[] = [],
  ): Promise<void> {
    const slot = board.slot(index) as BoardSlot;
    const sending = meterIds.filter((meter) => !withheld.includes(meter));
    await this.#until(() => sending.every((meter) => this.readings.get(meter)?.has(slot.slot) === true));
    for (const meter of sending) {
      const refused = await sendReading(
        this.client,
        { id: meter, key: privateKeyOf(this.keys, "meters", meter) },
        slot.slot,
        this.readings.get(meter)?.get(slot.slot) as { importWh: number; exportWh: number },
      );
      if (refused !== null) throw new Error(refused);
    }
    const metering = await this.#steps.closeMetering(slot.slot);
    const billing = await this.#steps.bill(slot.slot, pricesOf(slot));
    board.put({ ...slot, phase: "billed", metering, billing });
  }

  async #until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  async close(): Promise<void> {
    this.#steps.close();
    this.client.close();
    await this.meters.endAsync();
    await this.bus.close();
    await this.cluster.stop();
  }
}

function pricesOf(slot: BoardSlot): SlotPrices {
  if (slot.prices === undefined) throw new Error(`slot ${slot.index} has no tariffs on the board`);
  return slot.prices;
}
