/**
 * Synthetic, seeded energy profiles of a community: H0 household load, rooftop PV under a shared sky,
 * EV home charging and heat pumps under a shared outdoor temperature. Generated lazily one slot at a
 * time, carrying each model's state forward, so memory stays bounded however long the run; what the
 * community shares (weather, sun, H0 day shapes) is computed once per slot or day, not per household.
 * @module
 */

import { MS_PER_MINUTE } from "../units/index.ts";
import { germanLocalTime } from "./calendar.ts";
import { EvCharger } from "./ev.ts";
import { HeatPump } from "./heat-pump.ts";
import { HouseholdLoad, h0DayWhPerKwh } from "./load.ts";
import type { Random } from "./random.ts";
import { checkSyntheticInputs } from "./schema.ts";
import { irradiance, type Normal, panelNormal, planeOfArrayWPerM2, sunAt } from "./solar.ts";
import type {
  EvSession,
  HouseholdAssets,
  ProfileSource,
  PvAssets,
  Site,
  SlotConditions,
  SlotEnergy,
  TimeGrid,
} from "./types.ts";
import { siteWeather, type Weather } from "./weather.ts";

/** System losses of a PV system that does not state its own (PVGIS convention, peers.md §4.6). */
const DEFAULT_PV_LOSS_FRACTION = 0.14;
/** PV is integrated over each slot from sun positions this far apart (midpoint rule). */
const SUN_SAMPLE_MINUTES = 5;
const QUARTER_MINUTES = 15;

/** A household's models and where its PV looks. */
interface HouseholdModel {
  readonly load: HouseholdLoad;
  /** Index into the community's distinct panel orientations; -1 without PV. */
  readonly orientation: number;
  /** PV energy per W/m² of plane-of-array irradiance over a slot, Wh. */
  readonly pvWhPerWPerM2: number;
  readonly ev: EvCharger | null;
  readonly heatPump: HeatPump | null;
}

/**
 * Profiles of `households` at `site` over `grid`, all randomness drawn from `random`: the weather
 * from its fork "weather", each household's load and EV from forks named by its id, so adding a
 * household leaves the others' profiles unchanged. Slots must be asked for in ascending order
 * (skipped slots are generated and dropped). Values are whole Wh; rounding carries its remainder to the
 * next slot, so sums over a run stay within 1 Wh of the unrounded model.
 * @throws {@link ValidationError} when a household, the site or the grid is out of the models' domain.
 */
export function syntheticProfiles(
  households: readonly { readonly id: string; readonly assets: HouseholdAssets }[],
  site: Site,
  grid: TimeGrid,
  random: Random,
): ProfileSource {
  checkSyntheticInputs(households, site, grid);
  return new SyntheticProfiles(households, site, grid, random);
}

class SyntheticProfiles implements ProfileSource {
  readonly householdIds: readonly string[];
  private readonly slotMs: number;
  private readonly weather: Weather;
  private readonly normals: Normal[] = [];
  private readonly models: HouseholdModel[];
  /** Plane-of-array irradiance of each orientation over the current slot, W/m². */
  private readonly poaWPerM2: Float64Array;
  /** Rounding remainders, Wh, per household: load, PV, EV, heat pump. */
  private readonly carries: readonly [Float64Array, Float64Array, Float64Array, Float64Array];
  /** The H0 days of the last few local days, by day number. */
  private readonly h0Days = new Map<number, Float64Array>();
  private readonly slotDays: Float64Array[] = [];
  private readonly slotQuarters: number[] = [];
  private currentDay = Number.NaN;
  private nextIndex = 0;
  private lastConditions: SlotConditions | null = null;

  constructor(
    households: readonly { readonly id: string; readonly assets: HouseholdAssets }[],
    private readonly site: Site,
    private readonly grid: TimeGrid,
    random: Random,
  ) {
    this.householdIds = households.map((household) => household.id);
    this.slotMs = grid.slotMinutes * MS_PER_MINUTE;
    this.weather = siteWeather(site, grid.slotMinutes, random.fork("weather"));
    const orientations = new Map<string, number>();
    const orientationOf = ({ tiltDeg, azimuthDeg }: PvAssets): number => {
      const key = `${tiltDeg}/${azimuthDeg}`;
      let orientation = orientations.get(key);
      if (orientation === undefined) {
        orientation = this.normals.push(panelNormal(tiltDeg, azimuthDeg)) - 1;
        orientations.set(key, orientation);
      }
      return orientation;
    };
    const slotHours = grid.slotMinutes / 60;
    this.models = households.map(({ id, assets }) => {
      const { pv, ev, heatPump } = assets;
      return {
        load: new HouseholdLoad(assets.annualKwh, grid.slotMinutes, random.fork(`load:${id}`)),
        orientation: pv === undefined ? -1 : orientationOf(pv),
        pvWhPerWPerM2:
          pv === undefined ? 0 : pv.kWp * (1 - (pv.lossFraction ?? DEFAULT_PV_LOSS_FRACTION)) * slotHours,
        ev: ev === undefined ? null : new EvCharger(ev, grid.startMs, random.fork(`ev:${id}`)),
        heatPump: heatPump === undefined ? null : new HeatPump(heatPump),
      };
    });
    this.poaWPerM2 = new Float64Array(this.normals.length);
    const count = households.length;
    this.carries = [
      new Float64Array(count),
      new Float64Array(count),
      new Float64Array(count),
      new Float64Array(count),
    ];
  }

  slot(index: number): readonly SlotEnergy[] {
    if (!Number.isInteger(index) || index < this.nextIndex || index >= this.grid.slotCount) {
      throw new RangeError(
        `slot ${index} cannot be generated: the next slot is ${this.nextIndex} of ${this.grid.slotCount}`,
      );
    }
    let energies = this.step();
    while (this.nextIndex <= index) energies = this.step();
    return energies;
  }

  conditions(index: number): SlotConditions {
    if (index !== this.nextIndex - 1 || this.lastConditions === null) {
      throw new RangeError(
        `the conditions of slot ${index} are not at hand: the last slot generated is ${this.nextIndex - 1}`,
      );
    }
    return this.lastConditions;
  }

  /** Generates the next slot. */
  private step(): SlotEnergy[] {
    const startMs = this.grid.startMs + this.nextIndex * this.slotMs;
    this.nextIndex += 1;
    const weather = this.weather.next(startMs + this.slotMs / 2);
    this.integratePlaneOfArray(startMs, weather.clearSkyIndex);
    this.locateH0(startMs);
    const slotSeconds = this.slotMs / 1000;
    const [loadCarry, pvCarry, evCarry, heatPumpCarry] = this.carries;
    const endMs = startMs + this.slotMs;
    this.lastConditions = {
      outdoorTemperatureC: weather.temperatureC,
      dailyMeanTemperatureC: weather.dailyMeanTemperatureC,
      evSessions: this.models.map((model): EvSession | null => model.ev?.sessionIn(startMs, endMs) ?? null),
    };
    return this.models.map((model, h) => ({
      loadWh: roundCarrying(loadCarry, h, model.load.slotWh(this.slotDays, this.slotQuarters)),
      pvWh: roundCarrying(
        pvCarry,
        h,
        model.orientation < 0 ? 0 : model.pvWhPerWPerM2 * (this.poaWPerM2[model.orientation] as number),
      ),
      evWh: roundCarrying(evCarry, h, model.ev === null ? 0 : model.ev.slotWh(startMs, endMs)),
      heatPumpWh: roundCarrying(
        heatPumpCarry,
        h,
        model.heatPump === null
          ? 0
          : model.heatPump.slotWh(weather.temperatureC, weather.dailyMeanTemperatureC, slotSeconds),
      ),
    }));
  }

  /** The mean plane-of-array irradiance of each orientation over the slot starting at `startMs`. */
  private integratePlaneOfArray(startMs: number, clearSkyIndex: number): void {
    this.poaWPerM2.fill(0);
    if (this.normals.length === 0) return;
    const samples = this.grid.slotMinutes / SUN_SAMPLE_MINUTES;
    for (let s = 0; s < samples; s++) {
      const sun = sunAt(
        startMs + (s + 0.5) * SUN_SAMPLE_MINUTES * MS_PER_MINUTE,
        this.site.latitudeDeg,
        this.site.longitudeDeg,
      );
      if (sun.up <= 0) continue;
      const light = irradiance(sun, clearSkyIndex);
      this.normals.forEach((normal, o) => {
        this.poaWPerM2[o] = (this.poaWPerM2[o] as number) + planeOfArrayWPerM2(sun, light, normal) / samples;
      });
    }
  }

  /** The H0 days and quarter-hours the slot starting at `startMs` covers; a new local day draws each household's day factor. */
  private locateH0(startMs: number): void {
    const quarters = this.grid.slotMinutes / QUARTER_MINUTES;
    for (let k = 0; k < quarters; k++) {
      const { dayNumber, minuteOfDay } = germanLocalTime(startMs + k * QUARTER_MINUTES * MS_PER_MINUTE);
      this.slotDays[k] = this.h0Day(dayNumber);
      this.slotQuarters[k] = Math.floor(minuteOfDay / QUARTER_MINUTES);
      if (k === 0 && dayNumber !== this.currentDay) {
        this.currentDay = dayNumber;
        for (const model of this.models) model.load.startDay();
      }
    }
  }

  private h0Day(dayNumber: number): Float64Array {
    const cached = this.h0Days.get(dayNumber);
    if (cached !== undefined) return cached;
    const day = h0DayWhPerKwh(dayNumber);
    this.h0Days.set(dayNumber, day);
    // Days come in order, so only the last two can be asked for again.
    for (const known of this.h0Days.keys()) if (known < dayNumber - 1) this.h0Days.delete(known);
    return day;
  }
}

/** `valueWh` rounded to a whole Wh after adding the household's remainder, which keeps what rounding dropped. */
function roundCarrying(carries: Float64Array, household: number, valueWh: number): number {
  const exactWh = valueWh + (carries[household] as number);
  const roundedWh = Math.max(0, Math.round(exactWh));
  carries[household] = exactWh - roundedWh;
  return roundedWh;
}
