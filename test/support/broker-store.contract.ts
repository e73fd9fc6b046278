/**
 * The contract of the broker's store as one test suite, run against PGlite (store.test.ts) and
 * PostgreSQL (store-postgres.test.ts).
 * @module
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BoardSlot } from "../../src/roles/broker/board.ts";
import type { BrokerStore, SlotRecord, StoredCalendar } from "../../src/roles/broker/store.ts";

const CALENDAR: StoredCalendar = {
  declared: {
    slotMinutes: 15,
    gateMinutes: 5,
    graceMinutes: 5,
    speed: 60,
    origin: "2026-06-01T00:00:00Z",
    startDelaySeconds: 0,
    slots: 4,
  },
  billingModel: "ucs-uniform",
  settings: {
    slotMinutes: 15,
    gateMinutes: 5,
    graceMinutes: 5,
    speed: 60,
    originMs: Date.parse("2026-06-01T00:00:00Z"),
    wallAtOriginMs: 1_000_000,
    slots: 4,
  },
};

/** Slot `index` of a 15-minute calendar from 2026-06-01, open with prices. */
export function openSlot(index: number, prices = { feedIn: 500, retail: 2000, networkFee: 300 }): BoardSlot {
  const startMs = Date.parse("2026-06-01T00:00:00Z") + index * 900_000;
  return {
    index,
    slot: new Date(startMs).toISOString(),
    phase: "open",
    gateAt: new Date(startMs - 300_000).toISOString(),
    meteringCloseAt: new Date(startMs + 1_200_000).toISOString(),
    prices,
  };
}

/**
 * Registers the contract's tests for the store `open` gives. Each call of `open` must reach the same
 * database, empty at the first call (the suite closes and reopens it to check what persists).
 */
export function runBrokerStoreContract(name: string, open: () => Promise<BrokerStore>): void {
  describe(`BrokerStore contract: ${name}`, () => {
    let store: BrokerStore;
    before(async () => {
      store = await open();
    });
    after(() => store.close());
    const reopen = async () => {
      await store.close();
      store = await open();
    };
    const put = (record: SlotRecord) => store.update(record.board.index, () => record);

    it("fixes the calendar at the first call and gives the stored one ever after, across a reopen", async () => {
      assert.deepStrictEqual(await store.fixCalendar(CALENDAR), CALENDAR);
      const other: StoredCalendar = { ...CALENDAR, declared: { ...CALENDAR.declared, speed: 120 } };
      assert.deepStrictEqual(await store.fixCalendar(other), CALENDAR);
      await reopen();
      assert.deepStrictEqual(await store.fixCalendar(other), CALENDAR);
    });

    it("keeps the latest tariffs of a slot until its prices are on the board, and names the slots it left", async () => {
      assert.deepStrictEqual(await store.tariffs(100), {});
      assert.deepStrictEqual(
        await store.publishTariffs("s0", [{ index: 100, feedIn: 400, retail: 1900 }]),
        [],
      );
      await store.publishTariffs("s0", [{ index: 100, feedIn: 500, retail: 2000 }]);
      const zoneLimits = [{ id: "hill", exportLimitWh: 900, importLimitWh: 1200 }];
      await store.publishNetwork([{ index: 100, networkFee: 300, zoneLimits }]);
      await store.publishNetwork([{ index: 101, networkFee: 310 }]);
      assert.deepStrictEqual(await store.tariffs(100), {
        supplier: { feedIn: 500, retail: 2000 },
        network: { networkFee: 300, zoneLimits },
      });
      assert.deepStrictEqual(await store.tariffs(101), { network: { networkFee: 310 } });
      await put({ board: openSlot(100), meteringClosed: false });
      // A slot on the board without prices (left uncleared for want of them) still takes them.
      const { prices: _, ...unpriced } = openSlot(101);
      await put({
        board: { ...unpriced, phase: "uncleared", uncleared: "no tariff" },
        meteringClosed: false,
      });
      assert.deepStrictEqual(
        await store.publishTariffs("s0", [
          { index: 100, feedIn: 1, retail: 2 },
          { index: 101, feedIn: 450, retail: 1950 },
        ]),
        [100],
      );
      assert.deepStrictEqual(await store.publishNetwork([{ index: 100, networkFee: 1 }]), [100]);
      await reopen();
      assert.deepStrictEqual((await store.tariffs(100)).supplier, { feedIn: 500, retail: 2000 });
      assert.deepStrictEqual((await store.tariffs(100)).network?.networkFee, 300);
      assert.deepStrictEqual((await store.tariffs(101)).supplier, { feedIn: 450, retail: 1950 });
    });

    it("writes each change of a slot with a numbered event, in order, and reads the board and the events back", async () => {
      const before = await store.events(-1, 1000);
      const first = before.length;
      const changes: BoardSlot[] = [];
      const change = async (board: BoardSlot, meteringClosed = false) => {
        const event = await store.update(board.index, (current, tariffs) => {
          assert.equal(
            current?.board.phase,
            changes.filter((earlier) => earlier.index === board.index).pop()?.phase,
          );
          assert.deepStrictEqual(tariffs, {});
          return { board, meteringClosed };
        });
        changes.push(board);
        assert.deepStrictEqual(event, { seq: first + changes.length - 1, type: "slot", slot: board });
      };
      await change(openSlot(0));
      await change({
        ...openSlot(0),
        phase: "cleared",
        clearing: { clearingPrice: 1200, volumeWh: 800, intents: 4, refused: 0, leftOut: 1 },
      });
      await change(openSlot(1));
      await change(
        { ...(changes[1] as BoardSlot), metering: { reported: 3, missing: ["meter-h1"], implausible: [] } },
        true,
      );
      assert.equal(await store.update(1, () => undefined), undefined, "a change that leaves the slot");
      await reopen();
      assert.deepStrictEqual(await store.slot(0), { board: changes[3], meteringClosed: true });
      assert.deepStrictEqual(await store.slot(1), { board: changes[2], meteringClosed: false });
      assert.equal(await store.slot(2), null);
      assert.deepStrictEqual(await store.slots(0, 2), [changes[3], changes[2]]);
      assert.deepStrictEqual(await store.slots(1, 1), []);
      const events = await store.events(first - 1, 1000);
      assert.deepStrictEqual(
        events.map((event) => event.slot),
        changes,
      );
      assert.deepStrictEqual(await store.events(first, 2), events.slice(1, 3));
      await assert.rejects(
        store.update(2, () => ({ board: openSlot(3), meteringClosed: false })),
        /slot 2 cannot be written as slot 3/,
      );
      assert.equal((await store.events(-1, 1000)).length, first + 4, "nothing written by a failed change");
    });

    it("counts the slots decided, billed and posted", async () => {
      const board = (index: number, phase: BoardSlot["phase"]) => ({
        board: { ...openSlot(index), phase },
        meteringClosed: phase !== "open",
      });
      for (const [index, phase] of [
        [0, "posted"],
        [1, "billed"],
        [2, "uncleared"],
        [3, "cleared"],
        [4, "open"],
      ] as const)
        await put(board(index, phase));
      assert.deepStrictEqual(
        await store.progress(),
        { decided: 5, metered: 4, billed: 2, posted: 1 },
        "decided: slots 0..3 and 101 (left uncleared above); metered: slots 0..3",
      );
    });

    it("remembers the billing periods closed", async () => {
      assert.equal(await store.isPeriodClosed("2026-06"), false);
      await store.closePeriod("2026-06");
      await store.closePeriod("2026-06");
      await reopen();
      assert.equal(await store.isPeriodClosed("2026-06"), true);
      assert.equal(await store.isPeriodClosed("2026-07"), false);
    });

    it("remembers the signed requests taken until they expire", async () => {
      const now = Date.now();
      await store.takeRequest("supplier a", now + 60_000);
      await store.takeRequest("dso b", now + 120_000);
      await store.takeRequest("dso old", now - 1);
      await reopen();
      assert.deepStrictEqual((await store.takenRequests(now)).sort(), [
        ["dso b", now + 120_000],
        ["supplier a", now + 60_000],
      ]);
    });
  });
}
