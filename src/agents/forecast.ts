/**
 * Forecasts for planning agents. The public outlook learns, per time of day, the community's clearing
 * price and how often it clears from the published results, and the outdoor temperature from the
 * weather observed; a household forecasts its own load and PV from its own past only, so no data
 * leaves the home. All are persistence forecasts, whose errors are the real day-to-day variation.
 * @module
 */
import type { Side } from "../market/index.ts";

/** The tariff of one slot, price units per kWh. */
export interface Tariff {
  readonly feedIn: number;
  readonly retail: number;
  readonly networkFee: number;
}

/** Weight of the newest day in the per-time-of-day means (exponential smoothing). */
const SMOOTHING = 0.3;
/** Days of its own past a household averages for its load and PV forecast. */
const HISTORY_DAYS = 3;

/** A run's slot grid as the forecasts see it: each slot's index, its time of day, its day. */
class DailySlots {
  readonly perDay: number;

  constructor(
    private readonly startMs: number,
    readonly slotMs: number,
  ) {
    this.perDay = Math.round(86_400_000 / slotMs);
  }

  /** The slot starting at `slotStartMs`, counted from the run's first. */
  index(slotStartMs: number): number {
    return Math.round((slotStartMs - this.startMs) / this.slotMs);
  }

  /** Its place in the day, 0 .. perDay − 1 (before the run's start too). */
  timeOfDay(slotStartMs: number): number {
    return ((this.index(slotStartMs) % this.perDay) + this.perDay) % this.perDay;
  }
}

/** Expected prices of the coming slots, price units per kWh. */
export interface ExpectedPrices {
  readonly importPrice: number[];
  readonly exportPrice: number[];
}

/**
 * The public outlook of a community on a fixed slot grid: what the coming slots are expected to cost
 * and their outdoor temperatures. Fed with every published slot result, in order.
 */
export class Outlook {
  private readonly slots: DailySlots;
  private readonly meanPrice: Float64Array;
  private readonly clearRate: Float64Array;
  private readonly seen: Uint8Array;
  private readonly temperatureByTimeOfDay: Float64Array;
  private readonly temperatureSeen: Uint8Array;
  private lastTemperatureC = Number.NaN;
  /** How much warmer it is now than at the same time the day before, K. */
  private shiftC = 0;

  constructor(
    startMs: number,
    slotMs: number,
    private readonly tariffAt: (slotStartMs: number) => Tariff,
  ) {
    this.slots = new DailySlots(startMs, slotMs);
    const perDay = this.slots.perDay;
    this.meanPrice = new Float64Array(perDay);
    this.clearRate = new Float64Array(perDay);
    this.seen = new Uint8Array(perDay);
    this.temperatureByTimeOfDay = new Float64Array(perDay);
    this.temperatureSeen = new Uint8Array(perDay);
  }

  /** Records a published slot: its clearing price (null: no community trade). */
  recordClearing(slotStartMs: number, clearingPrice: number | null): void {
    const b = this.slots.timeOfDay(slotStartMs);
    const cleared = clearingPrice === null ? 0 : 1;
    if (this.seen[b] === 0) {
      this.seen[b] = 1;
      this.clearRate[b] = cleared;
      this.meanPrice[b] = clearingPrice ?? 0;
      return;
    }
    this.clearRate[b] = (1 - SMOOTHING) * (this.clearRate[b] as number) + SMOOTHING * cleared;
    if (clearingPrice !== null) {
      this.meanPrice[b] =
        (this.meanPrice[b] as number) === 0 && cleared === 1
          ? clearingPrice
          : (1 - SMOOTHING) * (this.meanPrice[b] as number) + SMOOTHING * clearingPrice;
    }
  }

  /** Records the outdoor temperature of a slot. */
  recordWeather(slotStartMs: number, temperatureC: number): void {
    const b = this.slots.timeOfDay(slotStartMs);
    this.shiftC =
      this.temperatureSeen[b] === 1 ? temperatureC - (this.temperatureByTimeOfDay[b] as number) : 0;
    this.temperatureByTimeOfDay[b] = temperatureC;
    this.temperatureSeen[b] = 1;
    this.lastTemperatureC = temperatureC;
  }

  /**
   * Expected prices of `count` slots from `fromMs`: a blend of the community's mean price at this time
   * of day (plus the network fee for imports) and the supplier's price, weighted by the share of an
   * order the community is expected to fill — the household's own fill history where it has one
   * (`fills`), else how often the community clears at this time of day. Where nothing is known yet,
   * the supplier's retail and feed-in prices.
   */
  prices(fromMs: number, count: number, fills?: FillHistory): ExpectedPrices {
    const importPrice: number[] = [];
    const exportPrice: number[] = [];
    for (let k = 0; k < count; k++) {
      const slotStartMs = fromMs + k * this.slots.slotMs;
      const { feedIn, retail, networkFee } = this.tariffAt(slotStartMs);
      const b = this.slots.timeOfDay(slotStartMs);
      const rate = this.clearRate[b] as number;
      const price = this.meanPrice[b] as number;
      const buyShare = fills?.share("buy", slotStartMs) ?? rate;
      const sellShare = fills?.share("sell", slotStartMs) ?? rate;
      importPrice.push(buyShare * Math.min(retail, price + networkFee) + (1 - buyShare) * retail);
      exportPrice.push(sellShare * Math.max(feedIn, Math.min(price, retail)) + (1 - sellShare) * feedIn);
    }
    return { importPrice, exportPrice };
  }

  /**
   * Outdoor temperatures of `count` slots from `fromMs`: the same time yesterday, shifted by how much
   * warmer or colder it is now than yesterday at this time; the current temperature where no day is known.
   */
  temperatures(fromMs: number, count: number): number[] {
    const result: number[] = [];
    for (let k = 0; k < count; k++) {
      const b = this.slots.timeOfDay(fromMs + k * this.slots.slotMs);
      result.push(
        this.temperatureSeen[b] === 1
          ? (this.temperatureByTimeOfDay[b] as number) + this.shiftC
          : this.lastTemperatureC,
      );
    }
    return result;
  }
}

/** The share of its community orders a household saw filled, per side and time of day (its own data). */
export class FillHistory {
  private readonly slots: DailySlots;
  private readonly shares: Record<Side, Float64Array>;
  private readonly seen: Record<Side, Uint8Array>;

  constructor(startMs: number, slotMs: number) {
    this.slots = new DailySlots(startMs, slotMs);
    const perDay = this.slots.perDay;
    this.shares = { buy: new Float64Array(perDay), sell: new Float64Array(perDay) };
    this.seen = { buy: new Uint8Array(perDay), sell: new Uint8Array(perDay) };
  }

  record(side: Side, slotStartMs: number, share: number): void {
    const b = this.slots.timeOfDay(slotStartMs);
    const shares = this.shares[side];
    shares[b] =
      this.seen[side][b] === 1 ? (1 - SMOOTHING) * (shares[b] as number) + SMOOTHING * share : share;
    this.seen[side][b] = 1;
  }

  /** The expected filled share of an order on `side` at this time of day; undefined before any. */
  share(side: Side, slotStartMs: number): number | undefined {
    const b = this.slots.timeOfDay(slotStartMs);
    return this.seen[side][b] === 1 ? this.shares[side][b] : undefined;
  }
}

/** A household's forecast of its own load and PV, from the last few days it observed. */
export class OwnForecast {
  private readonly slots: DailySlots;
  /** Per time of day, the last HISTORY_DAYS observations (ring), load and PV. */
  private readonly loadWh: Float64Array;
  private readonly pvWh: Float64Array;
  private readonly count: Uint8Array;
  private lastLoadWh = 0;
  private lastPvWh = 0;

  constructor(startMs: number, slotMs: number) {
    this.slots = new DailySlots(startMs, slotMs);
    this.loadWh = new Float64Array(this.slots.perDay * HISTORY_DAYS);
    this.pvWh = new Float64Array(this.slots.perDay * HISTORY_DAYS);
    this.count = new Uint8Array(this.slots.perDay);
  }

  observe(slotStartMs: number, loadWh: number, pvWh: number): void {
    const b = this.slots.timeOfDay(slotStartMs);
    const day = Math.floor(this.slots.index(slotStartMs) / this.slots.perDay) % HISTORY_DAYS;
    this.loadWh[b * HISTORY_DAYS + day] = loadWh;
    this.pvWh[b * HISTORY_DAYS + day] = pvWh;
    this.count[b] = Math.min(HISTORY_DAYS, (this.count[b] as number) + 1);
    this.lastLoadWh = loadWh;
    this.lastPvWh = pvWh;
  }

  /** Load minus PV of `count` slots from `fromMs`: the mean of the days seen at each time of day, else the last slot seen. */
  netWh(fromMs: number, count: number): number[] {
    const result: number[] = [];
    for (let k = 0; k < count; k++) {
      const b = this.slots.timeOfDay(fromMs + k * this.slots.slotMs);
      const days = this.count[b] as number;
      if (days === 0) {
        result.push(this.lastLoadWh - this.lastPvWh);
        continue;
      }
      let sum = 0;
      for (let d = 0; d < days; d++)
        sum += (this.loadWh[b * HISTORY_DAYS + d] as number) - (this.pvWh[b * HISTORY_DAYS + d] as number);
      result.push(sum / days);
    }
    return result;
  }
}
