/**
 * The flexible devices an agent runs, as physical state advanced slot by slot: the home battery
 * (state of charge), the heat pump's building (room temperature, exact 1R1C step) and the EV's stay
 * (energy still needed before it leaves). Every dispatch is clipped to what the device can do, so a
 * schedule made on a wrong forecast never breaks a device or comfort limit.
 * @module
 */
import { thermalStep } from "../profiles/heat-pump.ts";
import type { BatteryAssets, EvSession, HeatPumpAssets } from "../profiles/types.ts";

const DEFAULT_EFFICIENCY = 0.95;
const DEFAULT_MIN_SOC_FRACTION = 0.1;
/** A battery starts the run half full. */
const INITIAL_SOC_FRACTION = 0.5;

/** A home battery; energies at the connection, Wh. */
export class HomeBattery {
  readonly capacityWh: number;
  readonly minWh: number;
  readonly efficiency: number;
  readonly maxWhPerSlot: number;
  private soc: number;

  constructor(asset: BatteryAssets, slotHours: number) {
    this.capacityWh = asset.capacityKwh * 1000;
    this.minWh = this.capacityWh * (asset.minSocFraction ?? DEFAULT_MIN_SOC_FRACTION);
    this.efficiency = asset.efficiency ?? DEFAULT_EFFICIENCY;
    this.maxWhPerSlot = asset.powerKw * 1000 * slotHours;
    this.soc = Math.max(this.minWh, this.capacityWh * INITIAL_SOC_FRACTION);
  }

  get socWh(): number {
    return this.soc;
  }

  /** `wantedWh` (charge positive) clipped to the power and the state of charge, as whole Wh. */
  feasible(wantedWh: number): number {
    const maxChargeWh = Math.max(
      0,
      Math.min(this.maxWhPerSlot, (this.capacityWh - this.soc) / this.efficiency),
    );
    const maxDischargeWh = Math.max(
      0,
      Math.min(this.maxWhPerSlot, (this.soc - this.minWh) * this.efficiency),
    );
    // `|| 0` turns −0 into 0.
    return Math.trunc(Math.max(-maxDischargeWh, Math.min(maxChargeWh, wantedWh))) || 0;
  }

  /** Runs the slot at `wantedWh`, clipped; returns what it did. */
  run(wantedWh: number): number {
    const batteryWh = this.feasible(wantedWh);
    this.soc += batteryWh > 0 ? batteryWh * this.efficiency : batteryWh / this.efficiency;
    return batteryWh;
  }
}

/** A heat pump under a planning agent, with the room it heats. */
export class PlannedHeatPump {
  private roomC: number;

  constructor(
    readonly asset: HeatPumpAssets,
    private readonly slotSeconds: number,
  ) {
    this.roomC = (asset.minTemperatureC + asset.maxTemperatureC) / 2;
  }

  get temperatureC(): number {
    return this.roomC;
  }

  get maxWhPerSlot(): number {
    return (this.asset.ratedKw * 1000 * this.slotSeconds) / 3600;
  }

  /**
   * Runs the slot at the planned energy, corrected at the real outdoor temperature so that the room
   * stays in the comfort band where the heat pump can keep it there; returns the energy, whole Wh.
   */
  run(plannedWh: number, outdoorC: number, heating: boolean): number {
    const step = thermalStep(this.asset, outdoorC, this.slotSeconds);
    const maxWh = heating ? this.maxWhPerSlot : 0;
    const freeC = step.decay * this.roomC + step.driftC;
    const toReachWh = (targetC: number): number => (targetC - freeC) / step.warmingCPerWh;
    const wantedWh = Math.max(
      toReachWh(this.asset.minTemperatureC),
      Math.min(plannedWh, toReachWh(this.asset.maxTemperatureC)),
    );
    const energyWh = Math.min(Math.floor(maxWh), Math.max(0, Math.round(wantedWh)));
    this.roomC = freeC + step.warmingCPerWh * energyWh;
    return energyWh;
  }
}

/** An EV's current stay and what it has charged in it. */
export class EvStay {
  private session: EvSession | null = null;
  private chargedWh = 0;

  constructor(readonly chargerKw: number) {}

  /** Moves to the slot's stay; true when a new stay began (the plan must know of it). */
  enter(session: EvSession | null): boolean {
    const arrived = session !== null && session.arriveMs !== this.session?.arriveMs;
    if (arrived) this.chargedWh = 0;
    this.session = session;
    return arrived;
  }

  get current(): EvSession | null {
    return this.session;
  }

  /** Energy still needed before departure, Wh. */
  get remainingWh(): number {
    return this.session === null ? 0 : Math.max(0, this.session.needWh - this.chargedWh);
  }

  /** The most the charger delivers in `[startMs, endMs)` of the current stay, Wh. */
  maxWhIn(startMs: number, endMs: number): number {
    if (this.session === null) return 0;
    const overlapMs = Math.min(endMs, this.session.departMs) - Math.max(startMs, this.session.arriveMs);
    return overlapMs > 0 ? (this.chargerKw * 1000 * overlapMs) / 3_600_000 : 0;
  }

  /**
   * Charges the slot: the planned energy, raised when the stay would otherwise end short of its need
   * (`laterMaxWh`: what the rest of the stay can still deliver), never above the charger's limit or
   * past the need (the plan's slots each round to whole Wh).
   */
  run(plannedWh: number, slotMaxWh: number, laterMaxWh: number): number {
    const mustWh = Math.max(0, this.remainingWh - laterMaxWh);
    const energyWh = Math.min(
      Math.floor(slotMaxWh),
      Math.ceil(this.remainingWh),
      Math.max(Math.ceil(mustWh), Math.round(plannedWh)),
    );
    this.chargedWh += energyWh;
    return energyWh;
  }
}
