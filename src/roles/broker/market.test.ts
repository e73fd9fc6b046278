import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SqlDriver } from "../../store/driver.ts";
import { openPgliteDriver } from "../../store/pglite.ts";
import type { BoardEvent, SlotPrices } from "./board.ts";
import { type CalendarSettings, SlotCalendar } from "./calendar.ts";
import {
  type BillingFigures,
  type ClearingFigures,
  Market,
  type MarketClock,
  type MarketSteps,
  type MeteringFigures,
  StepDone,
} from "./market.ts";
import { brokerStoreOn } from "./store.ts";

const MINUTE = 60_000;
const ORIGIN = "2026-06-01T00:00:00.000Z";

/** Wall time as the test sets it; the loop's sleep is seen, and ended when the test moves the clock past it. */
class FakeClock implements MarketClock {
  #sleeper: { until: number; resolve: () => void } | undefined;
  #waiting: ((until: number) => void)[] = [];

  constructor(public nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  sleepUntil(wallMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#sleeper = undefined;
        resolve();
      };
      if (signal.aborted) return done();
      signal.addEventListener("abort", done, { once: true });
      this.#sleeper = { until: wallMs, resolve: done };
      for (const wake of this.#waiting.splice(0)) wake(wallMs);
    });
  }

  /** Resolves with the wall time the loop sleeps until, once it sleeps. */
  asleep(): Promise<number> {
    if (this.#sleeper !== undefined) return Promise.resolve(this.#sleeper.until);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Moves the clock to `wallMs`, ending the loop's sleep when it is due. */
  set(wallMs: number): void {
    this.nowMs = wallMs;
    if (this.#sleeper !== undefined && this.#sleeper.until <= wallMs) this.#sleeper.resolve();
  }
}

/** Steps that record what they were asked, when, and answer from the test's script. */
class FakeSteps implements MarketSteps {
  readonly calls: string[] = [];
  readonly at: Record<string, number> = {};
  readonly billedWith: Record<string, SlotPrices> = {};
  /** What a step does instead of answering at once (fail, or wait), by its call name. */
  readonly faults = new Map<string, () => Promise<void>>();
  #onCall: (() => void)[] = [];

  constructor(private readonly clock: FakeClock) {}

  /** Resolves at the next call of a step. */
  nextCall(): Promise<undefined> {
    return new Promise((resolve) => this.#onCall.push(() => resolve(undefined)));
  }

  #call(name: string): Promise<void> {
    this.calls.push(name);
    for (const told of this.#onCall.splice(0)) told();
    this.at[name] = this.clock.now();
    return this.faults.get(name)?.() ?? Promise.resolve();
  }

  async clear(slot: string): Promise<ClearingFigures> {
    await this.#call(`clear ${slot}`);
    return { clearingPrice: 1200, volumeWh: 800, intents: 3, refused: 0, leftOut: 0 };
  }

  async closeMetering(slot: string): Promise<MeteringFigures> {
    await this.#call(`meter ${slot}`);
    return { reported: 3, missing: [], implausible: [] };
  }

  async bill(slot: string, prices: SlotPrices): Promise<BillingFigures> {
    await this.#call(`bill ${slot}`);
    this.billedWith[slot] = prices;
    return { totalDeviationWh: 40, sharers: 2, sharedWh: 60 };
  }

  async closePeriod(period: string): Promise<void> {
    await this.#call(`period ${period}`);
  }
}

const PRICES = { feedIn: 500, retail: 2000, networkFee: 300 };

let database: Promise<SqlDriver> | undefined;
after(async () => (await database)?.close());

/** A market of `slots` slots of 15 minutes (gate 5, grace 5) from `origin`, market time = wall time. */
async function setUp(options: { slots: number; origin?: string; publish?: readonly number[] }) {
  const originMs = Date.parse(options.origin ?? ORIGIN);
  const settings: CalendarSettings = {
    slotMinutes: 15,
    gateMinutes: 5,
    graceMinutes: 5,
    speed: 1,
    originMs,
    wallAtOriginMs: originMs,
    slots: options.slots,
  };
  const calendar = new SlotCalendar(settings);
  // One database for the file (a PGlite takes seconds to start), emptied for each test.
  database ??= openPgliteDriver();
  const driver = await database;
  await driver.query("DROP SCHEMA IF EXISTS snippet_broker CASCADE");
  const store = await brokerStoreOn({ ...driver, close: async () => undefined }, "memory");
  const publish = async (indices: readonly number[], prices = PRICES) => {
    await store.publishTariffs(
      "s0",
      indices.map((index) => ({ index, feedIn: prices.feedIn, retail: prices.retail })),
    );
    await store.publishNetwork(indices.map((index) => ({ index, networkFee: prices.networkFee })));
  };
  await publish(options.publish ?? Array.from({ length: options.slots }, (_, index) => index));
  const clock = new FakeClock(originMs - 15 * MINUTE);
  const steps = new FakeSteps(clock);
  const events: BoardEvent[] = [];
  const warnings: string[] = [];
  const log = {
    info: () => undefined,
    warn: (fields: object, message: string) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    error: () => undefined,
  };
  const start = () => {
    const stop = new AbortController();
    const market = new Market({
      calendar,
      store,
      steps,
      clock,
      log,
      onEvent: (event) => events.push(event),
      retry: { firstMs: 1000, maxMs: 4000 },
    });
    return { market, stop, done: market.run(stop.signal) };
  };
  /** Moves the clock from sleep to sleep until `until` says stop (asked at each sleep and each step). */
  const runUntil = async (until: (sleepingUntil?: number) => boolean) => {
    for (;;) {
      const sleepingUntil = await Promise.race([clock.asleep(), steps.nextCall()]);
      if (until(sleepingUntil)) return;
      if (sleepingUntil !== undefined) clock.set(sleepingUntil);
    }
  };
  /** Moves the clock from sleep to sleep until the market ends. */
  const finish = async (done: Promise<"finished" | "stopped">) => {
    const ended = done.then(() => undefined);
    for (let until = await Promise.race([clock.asleep(), ended]); until !== undefined; ) {
      clock.set(until);
      until = await Promise.race([clock.asleep(), ended]);
    }
    return done;
  };
  return { calendar, store, clock, steps, events, warnings, publish, start, runUntil, finish };
}

const slotTime = (index: number, origin = ORIGIN) =>
  new Date(Date.parse(origin) + index * 15 * MINUTE).toISOString();
/** The steps of a three-slot market in order: the next slot clears before this one's metering closes. */
const THREE_SLOTS = [0, 1, 2].map((index) => slotTime(index));
const THREE_SLOT_STEPS = [
  `clear ${THREE_SLOTS[0]}`,
  `clear ${THREE_SLOTS[1]}`,
  `meter ${THREE_SLOTS[0]}`,
  `bill ${THREE_SLOTS[0]}`,
  `clear ${THREE_SLOTS[2]}`,
  `meter ${THREE_SLOTS[1]}`,
  `bill ${THREE_SLOTS[1]}`,
  `meter ${THREE_SLOTS[2]}`,
  `bill ${THREE_SLOTS[2]}`,
  "period 2026-06",
];
const phasesOf = (events: readonly BoardEvent[]) =>
  events.map(
    (event) => `${event.slot.index} ${event.slot.phase}${event.slot.metering === undefined ? "" : "+m"}`,
  );

describe("the market loop", () => {
  it("opens, clears at the gate, closes metering and bills at metering close, closes the period and stops after the last slot", async () => {
    const { calendar, store, clock, steps, events, start, finish } = await setUp({ slots: 3 });
    assert.equal(await finish(start().done), "finished");
    assert.deepEqual(steps.calls, THREE_SLOT_STEPS);
    for (const index of [0, 1, 2]) {
      const times = calendar.times(index);
      assert.equal(steps.at[`clear ${times.slot}`], times.gateMs, `slot ${index} cleared at its gate`);
      assert.equal(
        steps.at[`meter ${times.slot}`],
        times.meteringCloseMs,
        `slot ${index} metered at its close`,
      );
      assert.deepEqual(steps.billedWith[times.slot], PRICES);
    }
    assert.deepEqual(phasesOf(events), [
      "0 open",
      "0 cleared",
      "1 open",
      "1 cleared",
      "2 open",
      "0 cleared+m",
      "0 billed+m",
      "2 cleared",
      "1 cleared+m",
      "1 billed+m",
      "2 cleared+m",
      "2 billed+m",
    ]);
    assert.deepEqual(
      events.map((event) => event.seq),
      events.map((_, k) => k),
    );
    assert.deepEqual((await store.slot(1))?.board, {
      index: 1,
      slot: slotTime(1),
      phase: "billed",
      gateAt: new Date(calendar.times(1).gateMs).toISOString(),
      meteringCloseAt: new Date(calendar.times(1).meteringCloseMs).toISOString(),
      prices: PRICES,
      clearing: { clearingPrice: 1200, volumeWh: 800, intents: 3, refused: 0, leftOut: 0 },
      metering: { reported: 3, missing: [], implausible: [] },
      billing: { totalDeviationWh: 40, sharers: 2, sharedWh: 60 },
    });
    assert.equal(await store.isPeriodClosed("2026-06"), true);
    assert.ok(clock.nowMs >= calendar.times(2).meteringCloseMs);
    await store.close();
  });

  it("restarted, catches up in time order from its store, and repeats only the step whose answer it never stored", async () => {
    const { calendar, store, clock, steps, start, runUntil, finish } = await setUp({ slots: 3 });
    start();
    // The first broker clears slot 0, and dies in the middle of clearing slot 1.
    steps.faults.set(`clear ${slotTime(1)}`, () => new Promise<void>(() => undefined));
    await runUntil(() => steps.calls.includes(`clear ${slotTime(1)}`));
    assert.deepEqual(steps.calls, [`clear ${slotTime(0)}`, `clear ${slotTime(1)}`]);
    steps.faults.clear();
    steps.calls.length = 0;
    // It comes back after slot 1's metering closed.
    clock.set(calendar.times(1).meteringCloseMs + MINUTE);
    assert.equal(await finish(start().done), "finished");
    assert.deepEqual(
      steps.calls,
      THREE_SLOT_STEPS.slice(1),
      "every step but slot 0's clearing, stored before",
    );
    await store.close();
  });

  it("tries a clearing the nodes fail on again until the slot starts, then leaves it to the supplier naming the node, and clears the next one", async () => {
    const { calendar, store, clock, steps, warnings, start, finish } = await setUp({ slots: 3 });
    const clear1 = `clear ${slotTime(1)}`;
    const tries: number[] = [];
    steps.faults.set(clear1, async () => {
      tries.push(clock.now());
      throw new Error("job clear-slot failed: node 2 (node-c): the connection broke (ECONNRESET)");
    });
    assert.equal(await finish(start().done), "finished");
    const { gateMs, startMs } = calendar.times(1);
    assert.deepEqual(tries.slice(0, 4), [gateMs, gateMs + 1000, gateMs + 3000, gateMs + 7000]);
    assert.ok(
      (tries.at(-2) as number) < startMs && (tries.at(-1) as number) >= startMs,
      "until the slot starts",
    );
    assert.equal(
      warnings.filter((warning) => warning.startsWith("could not clear slot 1")).length,
      tries.length - 1,
    );
    const slot1 = (await store.slot(1))?.board;
    assert.equal(slot1?.phase, "billed");
    assert.equal(slot1?.clearing, undefined);
    assert.equal(
      slot1?.uncleared,
      "the nodes could not clear it: job clear-slot failed: node 2 (node-c): the connection broke (ECONNRESET)",
    );
    assert.ok(steps.calls.includes(`clear ${slotTime(2)}`));
    assert.ok(steps.calls.includes(`bill ${slotTime(1)}`), "an uncleared slot is billed all the same");
    assert.equal((await store.slot(2))?.board.clearing?.clearingPrice, 1200);
    await store.close();
  });

  it("clears a slot whose first try failed when a later one before its start succeeds", async () => {
    const { store, steps, start, finish } = await setUp({ slots: 1 });
    let failures = 2;
    steps.faults.set(`clear ${slotTime(0)}`, async () => {
      if (failures-- > 0) throw new Error("could not reach node 1 (node-b) at 127.0.0.1:9 within 10000 ms");
    });
    assert.equal(await finish(start().done), "finished");
    assert.equal((await store.slot(0))?.board.clearing?.clearingPrice, 1200);
    assert.equal(steps.calls.filter((call) => call.startsWith("clear")).length, 3);
    await store.close();
  });

  it("leaves a slot without tariffs at its gate to the supplier, and bills it once they are published", async () => {
    const { calendar, store, steps, events, publish, start, runUntil, finish } = await setUp({
      slots: 3,
      publish: [0, 2],
    });
    const { market, done } = start();
    await runUntil(() => steps.calls.includes(`clear ${slotTime(2)}`));
    assert.ok(!steps.calls.includes(`clear ${slotTime(1)}`), "no clearing without tariffs");
    const slot1 = (await store.slot(1))?.board;
    assert.equal(slot1?.phase, "uncleared");
    assert.equal(
      slot1?.uncleared,
      "the supplier published no tariff for this slot; the DSO published no network fee for this slot",
    );
    assert.equal(slot1?.prices, undefined);
    assert.equal(events.filter((event) => event.slot.index === 1)[0]?.slot.phase, "uncleared", "never open");
    // Its metering closes; its bill waits for the tariffs, and slot 2's bill waits behind it.
    await runUntil(
      (until) =>
        until !== undefined && until > calendar.wallAt(calendar.times(2).meteringCloseMs) + 10 * MINUTE,
    );
    assert.ok(steps.calls.includes(`meter ${slotTime(2)}`));
    assert.ok(!steps.calls.includes(`bill ${slotTime(1)}`));
    assert.ok(!steps.calls.includes(`bill ${slotTime(2)}`));
    const late = { feedIn: 450, retail: 1900, networkFee: 250 };
    await publish([1], late);
    market.wake();
    assert.equal(await finish(done), "finished");
    assert.deepEqual(steps.billedWith[slotTime(1)], late);
    assert.deepEqual((await store.slot(1))?.board.prices, late);
    assert.equal((await store.slot(1))?.board.phase, "billed");
    assert.ok(steps.calls.indexOf(`bill ${slotTime(1)}`) < steps.calls.indexOf(`bill ${slotTime(2)}`));
    await store.close();
  });

  it("closes each billing period after its last slot is billed", async () => {
    const origin = "2026-06-30T23:30:00.000Z";
    const { store, steps, start, finish } = await setUp({ slots: 4, origin });
    assert.equal(await finish(start().done), "finished");
    const billsAndPeriods = steps.calls.filter(
      (call) => !call.startsWith("clear") && !call.startsWith("meter"),
    );
    assert.deepEqual(billsAndPeriods, [
      `bill ${slotTime(0, origin)}`,
      `bill ${slotTime(1, origin)}`,
      "period 2026-06",
      `bill ${slotTime(2, origin)}`,
      `bill ${slotTime(3, origin)}`,
      "period 2026-07",
    ]);
    await store.close();
  });

  it("retries a failed bill with a growing wait, while the next slots still clear at their gates", async () => {
    const { calendar, store, clock, steps, warnings, start, finish } = await setUp({ slots: 3 });
    const bill0 = `bill ${slotTime(0)}`;
    const gate2 = calendar.wallAt(calendar.times(2).gateMs);
    const tries: number[] = [];
    // The nodes fail to bill slot 0 until after slot 2's gate.
    steps.faults.set(bill0, async () => {
      tries.push(clock.now());
      if (clock.now() <= gate2) throw new Error("node 1 (node-b): the connection broke");
    });
    assert.equal(await finish(start().done), "finished");
    const close0 = calendar.wallAt(calendar.times(0).meteringCloseMs);
    assert.deepEqual(tries.slice(0, 5), [
      close0,
      close0 + 1000,
      close0 + 3000,
      close0 + 7000,
      close0 + 11_000,
    ]);
    assert.equal(steps.at[`clear ${slotTime(2)}`], gate2, "slot 2 cleared at its gate meanwhile");
    assert.ok(steps.calls.indexOf(`clear ${slotTime(2)}`) < steps.calls.lastIndexOf(bill0));
    assert.equal(
      warnings.filter((warning) => warning.startsWith("could not bill slot 0")).length,
      tries.length - 1,
    );
    assert.match(
      warnings[0] as string,
      /^could not bill slot 0; trying again {"attempts":1,"retryInMs":1000,"reason":"node 1 \(node-b\): the connection broke"}$/,
    );
    assert.equal((await store.slot(0))?.board.phase, "billed");
    await store.close();
  });

  it("records a step the nodes had done before a restart as done, without figures", async () => {
    const { store, steps, warnings, start, finish } = await setUp({ slots: 1 });
    steps.faults.set(`clear ${slotTime(0)}`, () =>
      Promise.reject(new StepDone(`slot ${slotTime(0)} is already cleared or billed`)),
    );
    assert.equal(await finish(start().done), "finished");
    const board = (await store.slot(0))?.board;
    assert.equal(board?.phase, "billed");
    assert.equal(board?.clearing, undefined);
    assert.equal(board?.uncleared, undefined);
    assert.ok(warnings.some((warning) => warning.startsWith("the nodes had cleared the slot already")));
    await store.close();
  });

  it("stops after the step in hand when asked", async () => {
    const { store, steps, start, runUntil } = await setUp({ slots: 3 });
    let answer: () => void = () => undefined;
    steps.faults.set(
      `clear ${slotTime(1)}`,
      () =>
        new Promise<void>((resolve) => {
          answer = resolve;
        }),
    );
    const { stop, done } = start();
    await runUntil(() => steps.calls.includes(`clear ${slotTime(1)}`));
    stop.abort();
    answer();
    assert.equal(await done, "stopped");
    assert.equal((await store.slot(1))?.board.phase, "cleared", "the step in hand is stored");
    assert.equal(await store.slot(2), null, "and nothing after it");
    await store.close();
  });
});
