/**
 * What the profile generators produce and what they are made from: a run's time grid, a household's
 * assets, the site, and the energy each household moves in each slot.
 * @module
 */

/** The time grid of a run: slot `i` starts at `startMs + i · slotMinutes` minutes (UTC). */
export interface TimeGrid {
  readonly startMs: number;
  readonly slotMinutes: 15 | 30;
  readonly slotCount: number;
}

/** Rooftop PV. */
export interface PvAssets {
  readonly kWp: number;
  /** Panel tilt from horizontal, degrees. */
  readonly tiltDeg: number;
  /** Panel azimuth, degrees: 0 south, −90 east, +90 west. */
  readonly azimuthDeg: number;
  /** System losses (inverter, wiring, soiling); 0.14 by convention. */
  readonly lossFraction?: number;
}

/** An electric vehicle charged at home. */
export interface EvAssets {
  readonly batteryKwh: number;
  readonly chargerKw: number;
  /** Typical arrival and departure, hours of the local day (arrival in the evening, departure next morning). */
  readonly arrivalHour: number;
  readonly departureHour: number;
  /** Energy used on an average day of driving, kWh. */
  readonly dailyKwh: number;
}

/** An air-source heat pump heating the home (1R1C thermal model). */
export interface HeatPumpAssets {
  /** Heat loss coefficient of the building, W/K. */
  readonly heatLossWPerK: number;
  /** Thermal capacity of the building, kWh/K. */
  readonly thermalCapacityKwhPerK: number;
  /** Electric power of the heat pump, kW. */
  readonly ratedKw: number;
  /** Comfort band of the room, °C. */
  readonly minTemperatureC: number;
  readonly maxTemperatureC: number;
}

/** A household's assets, as a scenario describes them. */
export interface HouseholdAssets {
  /** Annual consumption of the ordinary household load (BDEW H0), kWh per year. */
  readonly annualKwh: number;
  readonly pv?: PvAssets;
  readonly ev?: EvAssets;
  readonly heatPump?: HeatPumpAssets;
}

/** Where the community is: sun position and climate. */
export interface Site {
  readonly latitudeDeg: number;
  readonly longitudeDeg: number;
  /** Annual mean outdoor temperature, °C. */
  readonly meanTemperatureC: number;
  /** Mean cloudiness, 0 (always clear) to 1 (always overcast). */
  readonly cloudiness: number;
}

/** The energy one household moves in one slot, Wh, integers. */
export interface SlotEnergy {
  /** Ordinary household load. */
  readonly loadWh: number;
  /** PV generation. */
  readonly pvWh: number;
  readonly evWh: number;
  readonly heatPumpWh: number;
}

/**
 * Energy of every household, slot by slot. Slots are asked for in ascending order, each once;
 * the answer is aligned with the households the source was made for.
 */
export interface ProfileSource {
  readonly householdIds: readonly string[];
  slot(index: number): readonly SlotEnergy[];
}
