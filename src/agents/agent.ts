/**
 * The agent port: whatever prepares a household's part of a slot (bid and offer creation, seed step 1;
 * strategic bidding, step 2) answers one question — given the slot's tariff and its forecast, what
 * does the household bring to the market? Rule-based agents now; planning agents plug in later.
 * @module
 */
import type { HouseholdIntent } from "../market/index.ts";
import type { SlotEnergy } from "../profiles/types.ts";

/** What an agent knows when it prepares one slot. */
export interface AgentContext {
  /** Slot start, ms since the epoch (UTC). */
  readonly slotStartMs: number;
  readonly prices: { readonly feedIn: number; readonly retail: number; readonly networkFee: number };
  /** Its household's forecast energy for the slot. */
  readonly forecast: SlotEnergy;
}

/** Prepares one household's intent for each slot. */
export interface Agent {
  readonly householdId: string;
  plan(context: AgentContext): HouseholdIntent;
}

/** The forecast net position of a household: positive needs energy, negative has a surplus, Wh. */
export function netPositionWh(energy: SlotEnergy): number {
  return energy.loadWh + energy.evWh + energy.heatPumpWh - energy.pvWh;
}
