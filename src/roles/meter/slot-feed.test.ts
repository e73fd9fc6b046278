import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { SlotCalendar } from "../broker/calendar.ts";
import { MeterBuffer } from "./buffer.ts";
import type { MeterReading } from "./bus.ts";
import { feedSlots, firstOpenSlot } from "./slot-feed.ts";

const MINUTE = 60_000;
/** Market time is wall time: slot i runs from i·15 min, its metering closes 5 min after it ends. */
const calendar = new SlotCalendar({
  slotMinutes: 15,
  gateMinutes: 5,
  graceMinutes: 5,
  speed: 1,
  originMs: 0,
  wallAtOriginMs: 0,
});

describe("a CSV or synthetic source's feed, slot after slot", () => {
  let folder: string;
  const logged: { msg: string; from?: string; to?: string }[] = [];
  const logger = pino(
    new Writable({
      write(chunk, _encoding, done) {
        logged.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  /** Feeds up to `lastIndex` as the service would at wall time `nowMs`; @returns the slots it fed. */
  const feed = async (nowMs: number, lastIndex: number): Promise<number[]> => {
    const buffer = await MeterBuffer.open(folder);
    const fed: number[] = [];
    await feedSlots({
      calendar,
      buffer,
      take: async (readings) => void (await buffer.take(readings)),
      readingsOf: (index): MeterReading[] => {
        fed.push(index);
        return [{ meter: "m1", slot: calendar.times(index).slot, importWh: index, exportWh: 0 }];
      },
      lastIndex,
      logger,
      signal: new AbortController().signal,
      now: () => nowMs,
    });
    await buffer.close();
    return fed;
  };
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "snippet-feed-"));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  it("starts at the first slot whose metering is still open", () => {
    assert.equal(firstOpenSlot(calendar, 0), 0);
    assert.equal(firstOpenSlot(calendar, 20 * MINUTE - 1), 0, "slot 0's metering closes at 0:20");
    assert.equal(firstOpenSlot(calendar, 20 * MINUTE), 1);
    assert.equal(firstOpenSlot(calendar, 90 * MINUTE), 5);
  });

  it("feeds each ended slot once, goes on after the last one fed, and names the slots it had to skip", async () => {
    // A fresh service at 1:30 sends slot 5, whose metering closes at 1:35; slots before it are closed.
    assert.deepEqual(await feed(90 * MINUTE, 5), [5]);
    assert.equal(logged.length, 0);
    // Restarted at 2:15: slots 6 and 7 closed while it was down; slot 8 just ended.
    assert.deepEqual(await feed(135 * MINUTE, 8), [8]);
    assert.deepEqual(
      logged.map(({ msg, from, to }) => ({ msg, from, to })),
      [
        {
          msg: "the metering of these slots closed while the service was down: their readings are not sent",
          from: calendar.times(6).slot,
          to: calendar.times(7).slot,
        },
      ],
    );
    assert.deepEqual(await feed(135 * MINUTE, 8), [], "nothing is fed twice");
    const buffer = await MeterBuffer.open(folder);
    assert.deepEqual(
      buffer.pending().map(({ importWh }) => importWh),
      [5, 8],
    );
    await buffer.close();
  });
});
