/**
 * The community's slot calendar (spec: docs/deployment.md, "The time line of a slot"): slot i starts
 * at `originMs + i·L` market time; its intents close at the gate `g` minutes before it starts; its
 * readings are taken until metering closes `grace` minutes after it ends. Market time runs `speed`
 * times faster than the wall clock from the moment `wallAtOriginMs` at which it reads `originMs`, so
 * that a demo or a test runs a day in minutes and a deployment (speed 1) follows the wall clock.
 * Pure: the clock is the caller's.
 * @module
 */
import { z } from "zod";
import { integerField } from "../../validation/index.ts";

/** What fixes the calendar; the broker stores it, so a restarted broker keeps the same slots. */
export interface CalendarSettings {
  /** L: the slot length, minutes (15 unless the community says otherwise). */
  readonly slotMinutes: number;
  /** g: intents for a slot close this many minutes before it starts. */
  readonly gateMinutes: number;
  /** Readings of a slot are taken until this many minutes after it ends. */
  readonly graceMinutes: number;
  /** Market minutes per wall minute (1: the wall clock). */
  readonly speed: number;
  /** Market time of slot 0's start, ms since the epoch (aligned to the slot length). */
  readonly originMs: number;
  /** Wall time at which market time reads `originMs`, ms since the epoch. */
  readonly wallAtOriginMs: number;
  /** The number of slots the market runs, when it stops after a count (`--slots`); absent: for ever. */
  readonly slots?: number;
}

export const calendarSettingsSchema = z.strictObject({
  slotMinutes: integerField(1, 1440, "not a positive number of minutes", "longer than a day").refine(
    (minutes) => 1440 % minutes === 0,
    { error: "does not divide a day" },
  ),
  gateMinutes: integerField(0, 1440, "negative", "longer than a day"),
  graceMinutes: integerField(0, 1440, "negative", "longer than a day"),
  speed: integerField(1, 100_000, "not a positive speed", "above 100000"),
  originMs: z.number().int().nonnegative(),
  wallAtOriginMs: z.number().int().nonnegative(),
  slots: integerField(1, 10_000_000, "not a positive slot count", "above 10^7").optional(),
});

const MS_PER_MINUTE = 60_000;

/** The calendar's times of one slot, market time, ms since the epoch. */
export interface SlotTimes {
  readonly index: number;
  /** The slot's start, ISO 8601 (the slot's name everywhere). */
  readonly slot: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Intents close. */
  readonly gateMs: number;
  /** Readings close; the slot is billed. */
  readonly meteringCloseMs: number;
}

export class SlotCalendar {
  constructor(readonly settings: CalendarSettings) {}

  /** A calendar from settings as the API serves them, where `slots` may be present and undefined. */
  static from(
    settings: Omit<CalendarSettings, "slots"> & { readonly slots?: number | undefined },
  ): SlotCalendar {
    const { slots, ...rest } = settings;
    return new SlotCalendar({ ...rest, ...(slots === undefined ? {} : { slots }) });
  }

  get slotMs(): number {
    return this.settings.slotMinutes * MS_PER_MINUTE;
  }

  /** Market time at wall time `wallMs`. */
  marketAt(wallMs: number): number {
    const { originMs, wallAtOriginMs, speed } = this.settings;
    return originMs + (wallMs - wallAtOriginMs) * speed;
  }

  /** Wall time at which market time reads `marketMs` (rounded up to the millisecond). */
  wallAt(marketMs: number): number {
    const { originMs, wallAtOriginMs, speed } = this.settings;
    return wallAtOriginMs + Math.ceil((marketMs - originMs) / speed);
  }

  /** Slot `index`'s times. */
  times(index: number): SlotTimes {
    const startMs = this.settings.originMs + index * this.slotMs;
    return {
      index,
      slot: new Date(startMs).toISOString(),
      startMs,
      endMs: startMs + this.slotMs,
      gateMs: startMs - this.settings.gateMinutes * MS_PER_MINUTE,
      meteringCloseMs: startMs + this.slotMs + this.settings.graceMinutes * MS_PER_MINUTE,
    };
  }

  /** The index of the slot that starts at `slot` (ISO 8601), or null when it is no slot of this calendar. */
  indexOf(slot: string): number | null {
    const startMs = Date.parse(slot);
    if (Number.isNaN(startMs)) return null;
    const offset = startMs - this.settings.originMs;
    if (offset < 0 || offset % this.slotMs !== 0) return null;
    const index = offset / this.slotMs;
    return this.settings.slots === undefined || index < this.settings.slots ? index : null;
  }

  /** The first slot whose gate has not yet closed at wall time `wallMs` (intents go to it). */
  nextGateIndex(wallMs: number): number {
    const { gateMinutes, originMs } = this.settings;
    const market = this.marketAt(wallMs) + gateMinutes * MS_PER_MINUTE;
    return Math.max(0, Math.floor((market - originMs) / this.slotMs) + 1);
  }

  /** Whether slot `index` is past the calendar's last slot. */
  isPastEnd(index: number): boolean {
    return this.settings.slots !== undefined && index >= this.settings.slots;
  }
}
