/**
 * The strategic agent (seed step 2): a home energy manager that plans its battery, EV and heat pump
 * with `planHousehold` over a rolling horizon, re-plans at a fixed interval and whenever the car
 * comes home, runs each slot of the plan within the devices' limits, and prices its order from the
 * plan's marginal values. It uses only public prices and weather and its own past: the plan never
 * leaves the home.
 * @module
 */
import { germanLocalTime, germanLocalToUtcMs } from "../profiles/calendar.ts";
import { inHeatingSeason, thermalStep } from "../profiles/heat-pump.ts";
import type { EvAssets, EvSession } from "../profiles/types.ts";
import { ValidationError } from "../validation/index.ts";
import {
  type Agent,
  type AgentContext,
  type AgentDecision,
  type AgentHousehold,
  DonationBudget,
  type HouseholdEnergy,
  intentOf,
  netPositionWh,
  type SlotFeedback,
  type SlotWeather,
} from "./agent.ts";
import { EvStay, HomeBattery, PlannedHeatPump } from "./devices.ts";
import { FillHistory, OwnForecast } from "./forecast.ts";
import {
  type BatteryState,
  type EvState,
  type HeatPumpState,
  type Plan,
  type PlanningProblem,
  planHousehold,
} from "./planner.ts";
import { type FlexiblePart, limitPrice } from "./pricing.ts";
import type { LpSolver } from "./solver.ts";

/** How a strategic agent plans. */
export interface PlanningOptions {
  readonly solver: LpSolver;
  /** The run's first slot and slot length, the grid of every forecast. */
  readonly startMs: number;
  readonly slotMinutes: number;
  /** How far it plans ahead, hours (default 24). */
  readonly horizonHours?: number;
  /** How often it re-plans, hours (default 4); it also re-plans when its EV arrives. */
  readonly replanHours?: number;
  /** What a kW of the horizon's highest import costs in the plan, price units per kW (default PEAK_PRICE_PER_KW). */
  readonly peakPricePerKw?: number;
}

export const DEFAULT_HORIZON_HOURS = 24;
export const DEFAULT_REPLAN_HOURS = 4;
/**
 * 0.10 EUR per kW of a day's highest quarter-hour import, about what a capacity tariff of 36 EUR per
 * kW and year charges: enough to spread a cheap hour's charging over several slots.
 */
export const PEAK_PRICE_PER_KW = 1000;
const MS_PER_HOUR = 3_600_000;

/**
 * Creates the strategic agent of one household. `settingsPath` names the household in errors
 * (`households[3]`). @throws {@link ValidationError} when a setting cannot be met by any plan.
 */
export function strategicAgent(
  household: AgentHousehold,
  options: PlanningOptions,
  settingsPath: string,
): Agent {
  return new StrategicAgent(household, options, settingsPath);
}

class StrategicAgent implements Agent {
  readonly householdId: string;
  private readonly slotMs: number;
  private readonly horizonSlots: number;
  private readonly replanSlots: number;
  private readonly battery: HomeBattery | null;
  private readonly heatPump: PlannedHeatPump | null;
  private readonly ev: { readonly asset: EvAssets; readonly stay: EvStay } | null;
  private readonly own: OwnForecast;
  private readonly fills: FillHistory;
  private readonly donations: DonationBudget;
  private current: { readonly fromMs: number; readonly schedule: Plan } | null = null;
  /** Whether the last slot scheduled the EV and heat pump (it cannot without the slot's weather). */
  private devicesPlanned = true;

  constructor(
    private readonly household: AgentHousehold,
    private readonly options: PlanningOptions,
    private readonly settingsPath: string,
  ) {
    this.householdId = household.id;
    this.slotMs = options.slotMinutes * 60_000;
    const slotHours = options.slotMinutes / 60;
    this.horizonSlots = Math.max(1, Math.round((options.horizonHours ?? DEFAULT_HORIZON_HOURS) / slotHours));
    this.replanSlots = Math.max(1, Math.round((options.replanHours ?? DEFAULT_REPLAN_HOURS) / slotHours));
    const assets = household.assets;
    this.battery = assets?.battery === undefined ? null : new HomeBattery(assets.battery, slotHours);
    this.heatPump =
      assets?.heatPump === undefined ? null : new PlannedHeatPump(assets.heatPump, this.slotMs / 1000);
    this.ev = assets?.ev === undefined ? null : { asset: assets.ev, stay: new EvStay(assets.ev.chargerKw) };
    if (this.ev !== null) checkEvSettings(this.ev.asset, `${settingsPath}.assets.ev`);
    this.own = new OwnForecast(options.startMs, this.slotMs);
    this.fills = new FillHistory(options.startMs, this.slotMs);
    this.donations = new DonationBudget(household.preferences?.donationBudgetKwhPerMonth);
  }

  async plan(context: AgentContext): Promise<AgentDecision> {
    const { slotStartMs, forecast, weather } = context;
    // Without weather (measured series) the EV and heat pump run as measured; only the battery moves.
    const planned = weather !== undefined;
    this.devicesPlanned = planned;
    const ev = planned ? this.ev : null;
    const heatPump = planned ? this.heatPump : null;
    const arrived = ev?.stay.enter(context.evSession ?? null) === true;
    // A household with nothing to move has nothing to plan: it orders its forecast at its outside option.
    const slot =
      this.battery === null && ev === null && heatPump === null ? null : await this.planned(context, arrived);
    const slotEndMs = slotStartMs + this.slotMs;
    const scheduled = (values: Float64Array | undefined): number =>
      slot === null ? 0 : (values?.[slot.j] ?? 0);

    let evWh = forecast.evWh;
    if (ev !== null) {
      const stay = ev.stay;
      const departMs = stay.current?.departMs ?? slotEndMs;
      evWh = stay.run(
        scheduled(slot?.plan.evWh),
        stay.maxWhIn(slotStartMs, slotEndMs),
        stay.maxWhIn(slotEndMs, departMs),
      );
    }
    const heatPumpWh =
      heatPump === null || weather === undefined
        ? forecast.heatPumpWh
        : heatPump.run(
            scheduled(slot?.plan.heatPumpWh),
            weather.outdoorTemperatureC,
            inHeatingSeason(weather.dailyMeanTemperatureC),
          );
    const batteryWh = this.battery?.run(scheduled(slot?.plan.batteryWh)) ?? 0;
    const energy: HouseholdEnergy = {
      loadWh: forecast.loadWh,
      pvWh: forecast.pvWh,
      evWh,
      heatPumpWh,
      batteryWh,
    };
    const netWh = Math.round(netPositionWh(energy));
    const side = netWh > 0 ? "buy" : "sell";
    const values = slot?.plan.values;
    const flexible: FlexiblePart[] =
      side === "buy"
        ? [
            { wh: Math.max(0, batteryWh), value: scheduled(values?.charge) },
            { wh: ev === null ? 0 : evWh, value: scheduled(values?.ev) },
            { wh: heatPump === null ? 0 : heatPumpWh, value: scheduled(values?.heat) },
          ]
        : [{ wh: Math.max(0, -batteryWh), value: scheduled(values?.discharge) }];
    return {
      intent: intentOf(
        this.household,
        netWh,
        limitPrice(side, Math.abs(netWh), flexible, context.prices),
        slotStartMs,
        this.donations.leftWh(slotStartMs),
      ),
      energy,
    };
  }

  /** The plan in force for this slot and the slot's place in it: re-planned at the interval and when the car arrives. */
  private async planned(context: AgentContext, arrived: boolean): Promise<{ plan: Plan; j: number }> {
    const { slotStartMs } = context;
    const offset = this.current === null ? -1 : Math.round((slotStartMs - this.current.fromMs) / this.slotMs);
    // A plan shorter than the interval is renewed when it runs out.
    if (this.current === null || offset >= Math.min(this.replanSlots, this.horizonSlots) || arrived) {
      this.current = { fromMs: slotStartMs, schedule: await this.replan(context) };
      return { plan: this.current.schedule, j: 0 };
    }
    return { plan: this.current.schedule, j: offset };
  }

  observe(feedback: SlotFeedback): void {
    const { actual } = feedback;
    // What the agent does not plan is part of the load it forecasts.
    const unplannedWh =
      (this.ev === null || !this.devicesPlanned ? actual.evWh : 0) +
      (this.heatPump === null || !this.devicesPlanned ? actual.heatPumpWh : 0);
    this.own.observe(feedback.slotStartMs, actual.loadWh + unplannedWh, actual.pvWh);
    this.donations.record(feedback.slotStartMs, feedback.donatedWh);
    const fill = feedback.communityFill;
    if (fill !== null) this.fills.record(fill.side, feedback.slotStartMs, fill.share);
  }

  private async replan(context: AgentContext): Promise<Plan> {
    const { slotStartMs, forecast, weather, outlook } = context;
    const slots = this.horizonSlots;
    const fixedWh = weather === undefined ? forecast.evWh + forecast.heatPumpWh : 0;
    const baseWh = [
      forecast.loadWh - forecast.pvWh + fixedWh,
      ...this.own.netWh(slotStartMs + this.slotMs, slots - 1),
    ];
    const { importPrice, exportPrice } = outlook.prices(slotStartMs, slots, this.fills);
    const problem: PlanningProblem = {
      baseWh,
      importPrice,
      exportPrice,
      peakPricePerWh:
        ((this.options.peakPricePerKw ?? PEAK_PRICE_PER_KW) * (60 / this.options.slotMinutes)) / 1000,
      ...(this.household.connectionCapWh === undefined
        ? {}
        : { connectionCapWh: this.household.connectionCapWh }),
      ...(this.battery === null ? {} : { battery: this.batteryState(this.battery, exportPrice) }),
      ...(weather === undefined || this.ev === null ? {} : { ev: this.evState(slotStartMs) }),
      ...(weather === undefined || this.heatPump === null
        ? {}
        : { heatPump: this.heatPumpState(this.heatPump, context, weather) }),
    };
    try {
      return await planHousehold(problem, this.options.solver);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new ValidationError(
        error.issues.map((issue) => ({
          path: `${this.settingsPath}.${issue.path.startsWith("connectionCapWh") ? "" : "assets."}${issue.path}`,
          message: issue.message,
        })),
      );
    }
  }

  /** The battery now; what is left in it at the horizon's end is worth the mean expected export price. */
  private batteryState(battery: HomeBattery, exportPrice: readonly number[]): BatteryState {
    return {
      capacityWh: battery.capacityWh,
      // A battery below its minimum (a raised setting) may stay there until it is charged.
      minWh: Math.min(battery.minWh, battery.socWh),
      maxWhPerSlot: battery.maxWhPerSlot,
      efficiency: battery.efficiency,
      socWh: battery.socWh,
      terminalPrice: exportPrice.reduce((sum, price) => sum + price, 0) / exportPrice.length,
    };
  }

  /** The room now and its thermal steps at the forecast outdoor temperatures (the current one observed). */
  private heatPumpState(
    heatPump: PlannedHeatPump,
    context: AgentContext,
    weather: SlotWeather,
  ): HeatPumpState {
    const temperatures = context.outlook.temperatures(context.slotStartMs, this.horizonSlots);
    temperatures[0] = weather.outdoorTemperatureC;
    const maxWh = inHeatingSeason(weather.dailyMeanTemperatureC) ? heatPump.maxWhPerSlot : 0;
    return {
      temperatureC: heatPump.temperatureC,
      minTemperatureC: heatPump.asset.minTemperatureC,
      maxTemperatureC: heatPump.asset.maxTemperatureC,
      maxWhPerSlot: new Array<number>(this.horizonSlots).fill(maxWh),
      steps: temperatures.map((outdoorC) => thermalStep(heatPump.asset, outdoorC, this.slotMs / 1000)),
    };
  }

  /** The EV's stays over the horizon: the current one as it is, later ones as the owner's usual days. */
  private evState(fromMs: number): EvState {
    const ev = this.ev as { readonly asset: EvAssets; readonly stay: EvStay };
    const slots = this.horizonSlots;
    const untilMs = fromMs + slots * this.slotMs;
    const current = ev.stay.current;
    const stays: EvSession[] = [
      ...(current === null
        ? []
        : [{ ...current, needWh: Math.min(ev.stay.remainingWh, ev.stay.maxWhIn(fromMs, current.departMs)) }]),
      ...usualStays(ev.asset, current?.departMs ?? fromMs, untilMs),
    ];
    const maxWhPerSlot = new Array<number>(slots).fill(0);
    const chargerWhPerMs = (ev.asset.chargerKw * 1000) / MS_PER_HOUR;
    const needs: EvState["needs"][number][] = [];
    for (const stay of stays) {
      const fromSlot = Math.max(0, Math.floor((stay.arriveMs - fromMs) / this.slotMs));
      const untilSlot = Math.min(slots, Math.ceil((stay.departMs - fromMs) / this.slotMs));
      for (let t = fromSlot; t < untilSlot; t++) {
        const startMs = fromMs + t * this.slotMs;
        const overlapMs = Math.min(startMs + this.slotMs, stay.departMs) - Math.max(startMs, stay.arriveMs);
        if (overlapMs > 0) maxWhPerSlot[t] = (maxWhPerSlot[t] as number) + overlapMs * chargerWhPerMs;
      }
      // A stay that ends beyond the horizon is planned when the horizon reaches its departure.
      if (stay.departMs <= untilMs && stay.needWh > 0)
        needs.push({ fromSlot, untilSlot, needWh: stay.needWh });
    }
    return { maxWhPerSlot, needs };
  }
}

/** The owner's usual stays at home arriving in `[fromMs, untilMs)`: usual hours, usual daily energy. */
function usualStays(asset: EvAssets, fromMs: number, untilMs: number): EvSession[] {
  const stays: EvSession[] = [];
  const needWh = Math.min(asset.dailyKwh, asset.batteryKwh) * 1000;
  const lastDay = germanLocalTime(untilMs).dayNumber;
  for (let day = germanLocalTime(fromMs).dayNumber - 1; day <= lastDay; day++) {
    const arriveMs = germanLocalToUtcMs(day, asset.arrivalHour);
    const departureHour = asset.departureHour + (asset.departureHour <= asset.arrivalHour ? 24 : 0);
    if (arriveMs >= fromMs && arriveMs < untilMs)
      stays.push({ arriveMs, departMs: germanLocalToUtcMs(day, departureHour), needWh });
  }
  return stays;
}

/** An owner's usual day must be chargeable in the usual stay. */
function checkEvSettings(asset: EvAssets, path: string): void {
  const stayHours =
    (asset.departureHour <= asset.arrivalHour ? 24 : 0) + asset.departureHour - asset.arrivalHour;
  const needKwh = Math.min(asset.dailyKwh, asset.batteryKwh);
  if (needKwh > asset.chargerKw * stayHours) {
    throw new ValidationError([
      {
        path: `${path}.dailyKwh`,
        message: `${asset.dailyKwh} kWh a day cannot be charged at ${asset.chargerKw} kW in the ${stayHours} h the car is usually home`,
      },
    ]);
  }
}
