/**
 * An air-source heat pump heating a building modelled as one thermal resistance and one capacity
 * (1R1C), under a thermostat with hysteresis: on when the room falls to the bottom of the comfort band,
 * off when it reaches the top. The room temperature is integrated exactly between switchings, so the
 * result does not depend on a time step.
 * @module
 */
import type { HeatPumpAssets } from "./types.ts";

/** Heat from people, appliances and sun, W: constant, so the building's balance point sits a little below the band. */
const INTERNAL_GAINS_W = 300;
/** Space heating is switched off while the outdoor daily mean is at or above this (German heating limit). */
const HEATING_LIMIT_C = 15;
/** The COP is this share of the Carnot COP for a supply (flow) temperature of SUPPLY_TEMPERATURE_C. */
const CARNOT_EFFICIENCY = 0.4;
const SUPPLY_TEMPERATURE_C = 35;
/** Real heat pumps stay in this COP range. */
const MIN_COP = 2;
const MAX_COP = 5;

const KELVIN = 273.15;
const J_PER_KWH = 3_600_000;

/** The coefficient of performance at an outdoor temperature: a Carnot fraction, clamped to [MIN_COP, MAX_COP]. */
export function coefficientOfPerformance(outdoorC: number): number {
  const liftK = Math.max(1, SUPPLY_TEMPERATURE_C - outdoorC);
  return Math.min(MAX_COP, Math.max(MIN_COP, (CARNOT_EFFICIENCY * (SUPPLY_TEMPERATURE_C + KELVIN)) / liftK));
}

/** Whether the heat pump heats at all at this outdoor daily mean (the German heating limit). */
export function inHeatingSeason(dailyMeanOutdoorC: number): boolean {
  return dailyMeanOutdoorC < HEATING_LIMIT_C;
}

/**
 * The room over one slot with the heat pump at a constant power: the exact 1R1C solution
 * `T_end = decay · T_start + driftC + warmingCPerWh · E`, linear in the slot's electric energy `E` (Wh),
 * which is what lets a linear program plan the heat pump.
 */
export interface ThermalStep {
  readonly decay: number;
  readonly driftC: number;
  readonly warmingCPerWh: number;
}

/** The thermal step of `asset`'s building over `slotSeconds` at `outdoorC`. */
export function thermalStep(asset: HeatPumpAssets, outdoorC: number, slotSeconds: number): ThermalStep {
  const timeConstantS = (asset.thermalCapacityKwhPerK * J_PER_KWH) / asset.heatLossWPerK;
  const decay = Math.exp(-slotSeconds / timeConstantS);
  return {
    decay,
    driftC: (1 - decay) * (outdoorC + INTERNAL_GAINS_W / asset.heatLossWPerK),
    warmingCPerWh:
      ((1 - decay) * coefficientOfPerformance(outdoorC) * 3600) / (slotSeconds * asset.heatLossWPerK),
  };
}

/** One household's heat pump and building, advanced slot by slot. */
export class HeatPump {
  private readonly timeConstantS: number;
  private indoorC: number;
  private running = false;

  constructor(private readonly asset: HeatPumpAssets) {
    this.timeConstantS = (asset.thermalCapacityKwhPerK * J_PER_KWH) / asset.heatLossWPerK;
    this.indoorC = (asset.minTemperatureC + asset.maxTemperatureC) / 2;
  }

  /** The room temperature now, °C. */
  get indoorTemperatureC(): number {
    return this.indoorC;
  }

  /**
   * The electric energy of the next slot, Wh (not rounded), with the outdoor temperature held over the
   * slot. While the outdoor daily mean is at the heating limit or above, the heat pump stays off.
   */
  slotWh(outdoorC: number, dailyMeanOutdoorC: number, slotSeconds: number): number {
    const { heatLossWPerK, ratedKw, minTemperatureC, maxTemperatureC } = this.asset;
    const heatingSeason = inHeatingSeason(dailyMeanOutdoorC);
    const heatingW = ratedKw * 1000 * coefficientOfPerformance(outdoorC);
    let remainingS = slotSeconds;
    let runningS = 0;
    while (remainingS > 0) {
      if (!heatingSeason) this.running = false;
      else if (this.indoorC <= minTemperatureC) this.running = true;
      else if (this.indoorC >= maxTemperatureC) this.running = false;
      const equilibriumC = outdoorC + (INTERNAL_GAINS_W + (this.running ? heatingW : 0)) / heatLossWPerK;
      const thresholdC = this.running ? maxTemperatureC : minTemperatureC;
      const reachable =
        heatingSeason && (this.running ? equilibriumC > thresholdC : equilibriumC < thresholdC);
      const untilSwitchS = reachable
        ? this.timeConstantS * Math.log((this.indoorC - equilibriumC) / (thresholdC - equilibriumC))
        : Number.POSITIVE_INFINITY;
      const stepS = Math.min(remainingS, untilSwitchS);
      this.indoorC =
        stepS === untilSwitchS
          ? thresholdC
          : equilibriumC + (this.indoorC - equilibriumC) * Math.exp(-stepS / this.timeConstantS);
      if (this.running) runningS += stepS;
      remainingS -= stepS;
    }
    return (ratedKw * 1000 * runningS) / 3600;
  }
}
