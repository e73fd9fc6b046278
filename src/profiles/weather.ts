/**
 * The weather the whole community shares, one draw per slot: a clear-sky index (the share of clear-sky
 * sunlight that gets through the clouds) whose mean follows the site's cloudiness, and the outdoor
 * temperature (seasonal and diurnal cycles plus weather anomalies). Both are seeded AR(1) processes.
 * @module
 */

import { MS_PER_MINUTE } from "../units/index.ts";
import type { Random } from "./random.ts";
import type { Site } from "./types.ts";

/** The weather over one slot. */
export interface WeatherSample {
  /** Share of the clear-sky global irradiance that reaches the ground, 0..1. */
  readonly clearSkyIndex: number;
  readonly temperatureC: number;
  /** The outdoor temperature averaged over about the last day (exponentially), for the heating switch. */
  readonly dailyMeanTemperatureC: number;
}

/** The weather process of a site, advanced slot by slot. */
export interface Weather {
  /** The weather of the next slot, whose midpoint is `midMs` (UTC). */
  next(midMs: number): WeatherSample;
}

const MINUTES_PER_DAY = 1440;
const DAYS_PER_YEAR = 365.25;

/** The thickest overcast still lets through this share of clear-sky light (Kasten and Czeplak: 0.25 at full cover). */
const MIN_CLEAR_SKY_INDEX = 0.1;
/** Spread of the clear-sky index: the slope of the logistic map from the latent Gaussian. */
const CLOUD_SPREAD = 2.5;
/** Cloud memory: a synoptic component (days) and a fast one (passing clouds), with the synoptic share of variance. */
const CLOUD_SLOW_MINUTES = 2 * MINUTES_PER_DAY;
const CLOUD_FAST_MINUTES = 60;
const CLOUD_SLOW_SHARE = 0.6;

/** Seasonal and diurnal half-ranges of the outdoor temperature, K (central European values). */
const SEASONAL_AMPLITUDE_K = 9;
const DIURNAL_AMPLITUDE_K = 4;
/** The coldest day of the year in the northern hemisphere (mid-January) and the warmest hour of the day (solar time). */
const COLDEST_DAY_OF_YEAR = 15;
const WARMEST_SOLAR_HOUR = 15;
/** Weather anomalies of the temperature: deviation and memory. */
const ANOMALY_DEVIATION_K = 3;
const ANOMALY_MINUTES = 3 * MINUTES_PER_DAY;
/** Memory of the daily mean that switches heating on and off. */
const DAILY_MEAN_MINUTES = MINUTES_PER_DAY;

/** The weather of `site` in slots of `slotMinutes`, drawn from `random`. */
export function siteWeather(site: Site, slotMinutes: number, random: Random): Weather {
  const cloudOffset = cloudOffsetForMean(1 - 0.75 * site.cloudiness);
  const slowCloud = new Ar1(slotMinutes / CLOUD_SLOW_MINUTES, random);
  const fastCloud = new Ar1(slotMinutes / CLOUD_FAST_MINUTES, random);
  const anomaly = new Ar1(slotMinutes / ANOMALY_MINUTES, random);
  const dailyMeanWeight = 1 - Math.exp(-slotMinutes / DAILY_MEAN_MINUTES);
  // The seasons are half a year apart south of the equator.
  const coldestDay = site.latitudeDeg < 0 ? COLDEST_DAY_OF_YEAR + DAYS_PER_YEAR / 2 : COLDEST_DAY_OF_YEAR;
  let dailyMeanC: number | null = null;
  return {
    next(midMs) {
      const cloud =
        Math.sqrt(CLOUD_SLOW_SHARE) * slowCloud.next() + Math.sqrt(1 - CLOUD_SLOW_SHARE) * fastCloud.next();
      const days = midMs / (MINUTES_PER_DAY * MS_PER_MINUTE);
      const solarHour = (((days % 1) + 1) % 1) * 24 + site.longitudeDeg / 15;
      const seasonalC =
        site.meanTemperatureC -
        SEASONAL_AMPLITUDE_K * Math.cos((2 * Math.PI * (days - coldestDay)) / DAYS_PER_YEAR);
      const temperatureC =
        seasonalC +
        DIURNAL_AMPLITUDE_K * Math.cos((2 * Math.PI * (solarHour - WARMEST_SOLAR_HOUR)) / 24) +
        ANOMALY_DEVIATION_K * anomaly.next();
      dailyMeanC =
        dailyMeanC === null ? temperatureC : dailyMeanC + dailyMeanWeight * (temperatureC - dailyMeanC);
      return {
        clearSkyIndex: clearSkyIndex(cloudOffset + CLOUD_SPREAD * cloud),
        temperatureC,
        dailyMeanTemperatureC: dailyMeanC,
      };
    },
  };
}

/** A standard normal AR(1) process with `steps` of its time constant per step, started in its stationary law. */
class Ar1 {
  private readonly persistence: number;
  private readonly innovation: number;
  private value: number;

  constructor(
    steps: number,
    private readonly random: Random,
  ) {
    this.persistence = Math.exp(-steps);
    this.innovation = Math.sqrt(1 - this.persistence ** 2);
    this.value = random.normal(0, 1);
  }

  next(): number {
    this.value = this.persistence * this.value + this.innovation * this.random.normal(0, 1);
    return this.value;
  }
}

function clearSkyIndex(latent: number): number {
  return MIN_CLEAR_SKY_INDEX + (1 - MIN_CLEAR_SKY_INDEX) / (1 + Math.exp(-latent));
}

/**
 * The offset of the latent Gaussian that gives the clear-sky index the mean `targetMean` (bisection
 * on the expectation, integrated over the standard normal on a fine grid). The mean follows Kasten
 * and Czeplak's 1 − 0.75 × cloud cover.
 */
function cloudOffsetForMean(targetMean: number): number {
  const grid = Array.from({ length: 161 }, (_, i) => -8 + i * 0.1);
  const weights = grid.map((z) => Math.exp(-(z * z) / 2));
  const totalWeight = weights.reduce((sum, w) => sum + w, 0);
  const mean = (offset: number): number =>
    grid.reduce((sum, z, i) => sum + (weights[i] as number) * clearSkyIndex(offset + CLOUD_SPREAD * z), 0) /
    totalWeight;
  let low = -30;
  let high = 30;
  for (let i = 0; i < 60; i++) {
    const middle = (low + high) / 2;
    if (mean(middle) < targetMean) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}
