/**
 * The ordinary household load: BDEW H0 dynamised day by day (shared by the community), and each
 * household's seeded variation of it — a fixed time shift, a factor per day and autocorrelated
 * multiplicative noise, all with mean one so that the yearly total stays at the household's annualKwh.
 * @module
 */
import { civilDate, dynamisationFactor, h0DayType, h0Season } from "./calendar.ts";
import { H0_KW_PER_MILLION_KWH } from "./data/h0.ts";
import type { Random } from "./random.ts";

export const QUARTERS_PER_DAY = 96;

/**
 * H0 of local day `dayNumber` (days since 1970-01-01, German civil time), dynamised: Wh per
 * quarter-hour for each kWh of annual consumption. A table value v in kW per 1,000,000 kWh/a is
 * v/1e6 kW per kWh/a, i.e. v/4000 Wh per quarter-hour.
 */
export function h0DayWhPerKwh(dayNumber: number): Float64Array {
  const date = civilDate(dayNumber);
  const table = H0_KW_PER_MILLION_KWH[h0Season(date)][h0DayType(date)];
  const factor = dynamisationFactor(date.dayOfYear) / 4000;
  return Float64Array.from(table, (kw) => kw * factor);
}

/** The household's H0 time shift: a whole number of quarter-hours in ±this, drawn once. */
const MAX_SHIFT_QUARTERS = 2;
/** Day-to-day variation: the day's factor is normal around 1 with this deviation, clamped symmetrically. */
const DAY_FACTOR_DEVIATION = 0.12;
const DAY_FACTOR_CLAMP = 0.4;
/** Quarter-hour noise: log-normal with this log deviation and an AR(1) memory of this time constant. */
const NOISE_LOG_DEVIATION = 0.35;
const NOISE_TIME_CONSTANT_MINUTES = 45;

/** One household's H0 load: stateful, advanced one slot at a time. */
export class HouseholdLoad {
  private readonly shiftQuarters: number;
  private readonly persistence: number;
  private readonly innovation: number;
  private dayFactor = 1;
  /** The AR(1) state of the log-noise, in units of its stationary deviation. */
  private noise: number;

  constructor(
    private readonly annualKwh: number,
    slotMinutes: number,
    private readonly random: Random,
  ) {
    this.shiftQuarters = random.int(-MAX_SHIFT_QUARTERS, MAX_SHIFT_QUARTERS);
    this.persistence = Math.exp(-slotMinutes / NOISE_TIME_CONSTANT_MINUTES);
    this.innovation = Math.sqrt(1 - this.persistence ** 2);
    this.noise = random.normal(0, 1);
  }

  /** Draws the factor of a new local day. */
  startDay(): void {
    const factor = this.random.normal(1, DAY_FACTOR_DEVIATION);
    this.dayFactor = Math.min(1 + DAY_FACTOR_CLAMP, Math.max(1 - DAY_FACTOR_CLAMP, factor));
  }

  /**
   * The load of the next slot, Wh (not rounded), from the H0 days and quarter-hours the slot covers.
   * The shift wraps within the day, so it moves load inside a day without changing the day's total.
   */
  slotWh(days: readonly Float64Array[], quarters: readonly number[]): number {
    let whPerKwh = 0;
    for (let k = 0; k < days.length; k++) {
      const quarter = ((quarters[k] as number) - this.shiftQuarters + QUARTERS_PER_DAY) % QUARTERS_PER_DAY;
      whPerKwh += (days[k] as Float64Array)[quarter] as number;
    }
    this.noise = this.persistence * this.noise + this.innovation * this.random.normal(0, 1);
    // exp(σz − σ²/2) has mean 1 for z standard normal.
    const noiseFactor = Math.exp(NOISE_LOG_DEVIATION * this.noise - NOISE_LOG_DEVIATION ** 2 / 2);
    return this.annualKwh * whPerKwh * this.dayFactor * noiseFactor;
  }
}
