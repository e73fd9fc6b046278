/**
 * Home charging of an electric vehicle, rule-based: each day the car comes home around its arrival
 * hour having used about its daily energy, and charges at full charger power from arrival until the
 * battery is full again or the car leaves around its departure hour. A shortfall carries over to the
 * next day; the battery's capacity bounds what a session can take.
 * @module
 */

import { MS_PER_MINUTE } from "../units/index.ts";
import { germanLocalTime, germanLocalToUtcMs } from "./calendar.ts";
import type { Random } from "./random.ts";
import type { EvAssets, EvSession } from "./types.ts";

/** Jitter of arrival and departure around the asset's hours, hours (standard deviation). */
const ARRIVAL_JITTER_HOURS = 0.75;
const DEPARTURE_JITTER_HOURS = 0.5;
/** Day-to-day variation of the energy driven: log-normal with this log deviation, mean one. */
const ENERGY_LOG_DEVIATION = 0.4;
/** A session lasts at least this long, however the jitter falls. */
const MIN_SESSION_MS = 15 * MS_PER_MINUTE;
const MS_PER_HOUR = 3_600_000;

interface Session {
  readonly arriveMs: number;
  readonly departMs: number;
  /** Charging runs at full power from arrival to here. */
  readonly chargeEndMs: number;
}

/** One household's EV at home, advanced slot by slot. */
export class EvCharger {
  private readonly chargerW: number;
  /** Energy missing to a full battery, Wh. */
  private deficitWh = 0;
  private dayNumber: number;
  private session: Session;
  private readonly firstMs: number;

  /** `firstMs`: the start of the run; the session under way then (arrived the evening before) is included. */
  constructor(
    private readonly ev: EvAssets,
    firstMs: number,
    private readonly random: Random,
  ) {
    this.chargerW = ev.chargerKw * 1000;
    this.firstMs = firstMs;
    this.dayNumber = germanLocalTime(firstMs).dayNumber - 2;
    this.session = this.nextSession(Number.NEGATIVE_INFINITY);
    while (this.session.departMs <= firstMs) this.session = this.nextSession(this.session.departMs);
  }

  /**
   * The stay at home that overlaps `[startMs, endMs)`, or null when the car is away; ask before
   * `slotWh` of the same slot, which moves on to later sessions.
   */
  sessionIn(startMs: number, endMs: number): EvSession | null {
    const { arriveMs, departMs, chargeEndMs } = this.session;
    if (arriveMs >= endMs || departMs <= startMs) return null;
    // A stay under way when the run starts needs only what it had yet to charge then.
    const chargedFromMs = Math.max(arriveMs, this.firstMs);
    return {
      arriveMs,
      departMs,
      needWh: (this.chargerW * Math.max(0, chargeEndMs - chargedFromMs)) / MS_PER_HOUR,
    };
  }

  /** The energy charged in `[startMs, endMs)`, Wh (not rounded); slots must come in order. */
  slotWh(startMs: number, endMs: number): number {
    let chargedWh = 0;
    for (;;) {
      const { arriveMs, departMs, chargeEndMs } = this.session;
      const overlapMs = Math.min(endMs, chargeEndMs) - Math.max(startMs, arriveMs);
      if (overlapMs > 0) chargedWh += (this.chargerW * overlapMs) / MS_PER_HOUR;
      if (departMs >= endMs) return chargedWh;
      this.session = this.nextSession(departMs);
    }
  }

  /** The next day's session, arriving no earlier than the last departure. */
  private nextSession(lastDepartMs: number): Session {
    this.dayNumber += 1;
    const { arrivalHour, departureHour, dailyKwh, batteryKwh } = this.ev;
    const arrivalHours = arrivalHour + jitterHours(this.random, ARRIVAL_JITTER_HOURS);
    const departureHours =
      departureHour +
      (departureHour <= arrivalHour ? 24 : 0) +
      jitterHours(this.random, DEPARTURE_JITTER_HOURS);
    const arriveMs = Math.max(lastDepartMs, germanLocalToUtcMs(this.dayNumber, arrivalHours));
    const departMs = Math.max(arriveMs + MIN_SESSION_MS, germanLocalToUtcMs(this.dayNumber, departureHours));
    const drivenWh =
      dailyKwh * 1000 * Math.exp(this.random.normal(-(ENERGY_LOG_DEVIATION ** 2) / 2, ENERGY_LOG_DEVIATION));
    this.deficitWh = Math.min(batteryKwh * 1000, this.deficitWh + drivenWh);
    const chargeEndMs = Math.min(departMs, arriveMs + (this.deficitWh / this.chargerW) * MS_PER_HOUR);
    this.deficitWh -= (this.chargerW * (chargeEndMs - arriveMs)) / MS_PER_HOUR;
    return { arriveMs, departMs, chargeEndMs };
  }
}

/**
 * A normal jitter cut at three deviations: a commuter is sometimes late, never home at noon on a
 * workday by chance alone.
 */
function jitterHours(random: Random, deviationHours: number): number {
  const limit = 3 * deviationHours;
  return Math.max(-limit, Math.min(limit, random.normal(0, deviationHours)));
}
