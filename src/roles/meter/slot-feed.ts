/**
 * How a CSV or synthetic source hands its readings over: each slot's readings once the calendar says
 * the slot has ended, in slot order, the slot then marked fed in the buffer. A restarted service goes
 * on after the last slot fed; slots whose metering closed while it was down are skipped (their
 * households are billed at the commitment) and named in the log.
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { SlotCalendar } from "../broker/calendar.ts";
import type { MeterBuffer } from "./buffer.ts";
import type { MeterReading } from "./bus.ts";

export interface SlotFeedOptions {
  readonly calendar: SlotCalendar;
  readonly buffer: MeterBuffer;
  /** Takes a slot's readings into the buffer and has them sent. */
  readonly take: (readings: readonly MeterReading[]) => Promise<void>;
  /** Slot `index`'s readings; asked for in ascending order, each slot once. */
  readonly readingsOf: (index: number) => readonly MeterReading[];
  /** The last slot the source has readings for; absent: the calendar's last. */
  readonly lastIndex?: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Wall clock, ms since the epoch. */
  readonly now?: () => number;
}

/** Feeds slot after slot until the source or the calendar ends, or `signal` aborts. */
export async function feedSlots(options: SlotFeedOptions): Promise<void> {
  const { calendar, buffer, logger, signal } = options;
  const now = options.now ?? Date.now;
  const open = firstOpenSlot(calendar, now());
  const next = buffer.fed === undefined ? open : buffer.fed + 1;
  if (next < open)
    logger.warn(
      { from: calendar.times(next).slot, to: calendar.times(open - 1).slot },
      "the metering of these slots closed while the service was down: their readings are not sent",
    );
  for (let index = Math.max(next, open); ; index++) {
    if (calendar.isPastEnd(index) || (options.lastIndex !== undefined && index > options.lastIndex)) return;
    await waitUntil(calendar.wallAt(calendar.times(index).endMs), now, signal);
    if (signal.aborted) return;
    await options.take(options.readingsOf(index));
    await buffer.markFed(index);
  }
}

/** The first slot whose metering is still open at wall time `wallMs`. */
export function firstOpenSlot(calendar: SlotCalendar, wallMs: number): number {
  const market = calendar.marketAt(wallMs);
  const { originMs } = calendar.settings;
  const closesAfterStartMs = calendar.times(0).meteringCloseMs - originMs;
  let index = Math.max(0, Math.floor((market - originMs - closesAfterStartMs) / calendar.slotMs));
  while (calendar.times(index).meteringCloseMs <= market) index += 1;
  return index;
}

/** The longest single timer: a wait for a far slot is taken in steps, so a changed wall clock is seen. */
const STEP_MS = 60_000;

/** Resolves at wall time `wallMs`, or at once when `signal` aborts. */
async function waitUntil(wallMs: number, now: () => number, signal: AbortSignal): Promise<void> {
  for (let left = wallMs - now(); left > 0 && !signal.aborted; left = wallMs - now())
    await sleep(Math.min(left, STEP_MS), undefined, { signal }).catch(() => undefined);
}
