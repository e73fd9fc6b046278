/**
 * The agent port: whatever prepares a household's part of a slot (bid and offer creation, seed step 1;
 * strategic bidding, step 2) answers one question — given the slot's tariff, the household's forecast
 * and the public outlook, what do its devices do and what does it bring to the market? Rule-based and
 * planning agents implement it; both share the household's settings and preferences below.
 * @module
 */
import type { HouseholdIntent, PartnerAcceptance, PartnerOffer, Side } from "../market/index.ts";
import type { EvSession, HouseholdAssets, SlotEnergy } from "../profiles/types.ts";
import type { Outlook, Tariff } from "./forecast.ts";

/** What an agent knows when it prepares one slot. */
export interface AgentContext {
  /** Slot start, ms since the epoch (UTC). */
  readonly slotStartMs: number;
  readonly prices: Tariff;
  /**
   * Its household's forecast energy for the slot; EV and heat pump as their own controllers (charge on
   * arrival, thermostat) would run them, which a planning agent replaces with its schedule.
   */
  readonly forecast: SlotEnergy;
  /** This slot's weather; absent for measured series, whose devices cannot be planned. */
  readonly weather?: SlotWeather | undefined;
  /** Its EV's stay at home that this slot overlaps; null when away, absent with no weather. */
  readonly evSession?: EvSession | null | undefined;
  /** Public expectations of the coming slots: prices from past clearings, the weather. */
  readonly outlook: Outlook;
}

/** The weather of one slot, the same for the whole community. */
export interface SlotWeather {
  readonly outdoorTemperatureC: number;
  readonly dailyMeanTemperatureC: number;
}

/** The energy a household moves in a slot, with its home battery (charge positive, discharge negative). */
export interface HouseholdEnergy extends SlotEnergy {
  readonly batteryWh: number;
}

/** An agent's answer for one slot: its order and what its devices will do. */
export interface AgentDecision {
  readonly intent: HouseholdIntent;
  /** The expected energy of the slot: the forecast load and PV with the devices as decided. */
  readonly energy: HouseholdEnergy;
}

/** What the household learns after a slot: the energy that really flowed and what it donated. */
export interface SlotFeedback {
  readonly slotStartMs: number;
  readonly actual: HouseholdEnergy;
  /** Energy given away to partners at price 0 in this slot, Wh. */
  readonly donatedWh: number;
  /** Its community order and the share of it filled; null when it had none. */
  readonly communityFill: { readonly side: Side; readonly share: number } | null;
}

/** Prepares one household's decisions, slot by slot in order. */
export interface Agent {
  readonly householdId: string;
  /** Synchronous when it has nothing to wait for (no solver), which keeps big communities fast. */
  plan(context: AgentContext): AgentDecision | Promise<AgentDecision>;
  /** After the slot: the household's own meter and bilateral results. */
  observe(feedback: SlotFeedback): void;
}

/** A household's standing instructions to its agent (from the scenario). */
export interface HouseholdPreferences {
  readonly offers?: readonly PartnerOffer[];
  readonly accepts?: readonly PartnerAcceptance[];
  readonly tradingWindows?: readonly { readonly fromHour: number; readonly toHour: number }[];
  /** Rule-based pricing only: how eagerly it trades, 0..1. */
  readonly eagerness?: number;
  /** The most energy it gives away (offers at price 0) per calendar month (UTC), kWh; absent: no limit. */
  readonly donationBudgetKwhPerMonth?: number;
}

/** The household as its agent knows it. */
export interface AgentHousehold {
  readonly id: string;
  readonly zone?: string;
  readonly connectionCapWh?: number;
  readonly assets?: HouseholdAssets;
  readonly preferences?: HouseholdPreferences;
}

/** The forecast net position of a household: positive needs energy, negative has a surplus, Wh. */
export function netPositionWh(energy: SlotEnergy & { readonly batteryWh?: number }): number {
  return energy.loadWh + energy.evWh + energy.heatPumpWh + (energy.batteryWh ?? 0) - energy.pvWh;
}

/**
 * The household's intent for a slot with net position `netWh` and community limit `limitPrice`: its
 * zone and cap, partner offers (donations capped by what is left of the month's budget), accepted
 * sellers, and whether the slot falls in its trading windows.
 */
export function intentOf(
  household: AgentHousehold,
  netWh: number,
  limitPrice: number,
  slotStartMs: number,
  donationsLeftWh: number,
): HouseholdIntent {
  const side = netWh > 0 ? "buy" : "sell";
  const preferences = household.preferences;
  const offers = preferences?.offers
    ?.map((offer) =>
      offer.price === 0 ? { ...offer, capWh: Math.min(offer.capWh, donationsLeftWh) } : offer,
    )
    .filter((offer) => offer.capWh > 0);
  return {
    id: household.id,
    side,
    volumeWh: Math.abs(Math.round(netWh)),
    limitPrice,
    ...(household.zone === undefined ? {} : { zone: household.zone }),
    ...(household.connectionCapWh === undefined ? {} : { connectionCapWh: household.connectionCapWh }),
    ...(side === "sell" && offers !== undefined ? { offers } : {}),
    ...(side === "buy" && preferences?.accepts !== undefined ? { accepts: preferences.accepts } : {}),
    community: inTradingWindow(preferences?.tradingWindows, slotStartMs),
  };
}

/** Counts a household's donations against its monthly budget. */
export class DonationBudget {
  private month = "";
  private donatedWh = 0;

  constructor(private readonly budgetKwhPerMonth: number | undefined) {}

  /** What it may still give away in the month of `slotStartMs`, Wh. */
  leftWh(slotStartMs: number): number {
    if (this.budgetKwhPerMonth === undefined) return Number.POSITIVE_INFINITY;
    const used = this.monthOf(slotStartMs) === this.month ? this.donatedWh : 0;
    return Math.max(0, Math.floor(this.budgetKwhPerMonth * 1000 - used));
  }

  record(slotStartMs: number, donatedWh: number): void {
    if (this.budgetKwhPerMonth === undefined) return;
    const month = this.monthOf(slotStartMs);
    if (month !== this.month) {
      this.month = month;
      this.donatedWh = 0;
    }
    this.donatedWh += donatedWh;
  }

  private monthOf(slotStartMs: number): string {
    return new Date(slotStartMs).toISOString().slice(0, 7);
  }
}

/** Whether the slot starts inside one of the windows (UTC hours); no windows: always. */
function inTradingWindow(
  windows: readonly { readonly fromHour: number; readonly toHour: number }[] | undefined,
  slotStartMs: number,
): boolean {
  if (windows === undefined || windows.length === 0) return true;
  const hour = new Date(slotStartMs).getUTCHours();
  return windows.some((window) => hour >= window.fromHour && hour < window.toHour);
}
