/**
 * The rule-based agent: it runs its devices by their own rules (the EV charges on arrival, the heat
 * pump follows its thermostat, the battery stores surplus and covers deficits: self-consumption),
 * orders its forecast net position, prices it by a fixed rule between feed-in and retail, offers
 * surplus to its nominated partners (donations at price 0) and accepts from its nominated sellers,
 * and stays out of the community outside its trading windows.
 *
 * Pricing rule, with eagerness `e` in [0, 1] (default 0.5):
 * - a buyer never pays more for community energy than retail minus the DSO's network fee, since the
 *   fee comes on top; its limit is `feedIn + (ceiling − feedIn) · (0.5 + e/2)`;
 * - a seller asks `feedIn + (retail − feedIn) · (0.5 − e/2)`.
 * Eager households bid high and ask low; at the default, buyers bid at three quarters of the band and
 * sellers ask at one quarter, so the community clears between them whenever both sides exist.
 * @module
 */
import {
  type Agent,
  type AgentContext,
  type AgentDecision,
  type AgentHousehold,
  DonationBudget,
  intentOf,
  netPositionWh,
} from "./agent.ts";
import { HomeBattery } from "./devices.ts";
import type { Tariff } from "./forecast.ts";

const DEFAULT_EAGERNESS = 0.5;

/** Creates the rule-based agent of one household. */
export function ruleBasedAgent(household: AgentHousehold, slotMinutes: number): Agent {
  const eagerness = household.preferences?.eagerness ?? DEFAULT_EAGERNESS;
  const asset = household.assets?.battery;
  const battery = asset === undefined ? null : new HomeBattery(asset, slotMinutes / 60);
  const donations = new DonationBudget(household.preferences?.donationBudgetKwhPerMonth);
  return {
    householdId: household.id,
    plan(context: AgentContext): AgentDecision {
      const { forecast, slotStartMs } = context;
      const forecastNetWh = netPositionWh(forecast);
      // Self-consumption: the battery takes the surplus and covers the deficit, as far as it can.
      const batteryWh = battery?.run(-forecastNetWh) ?? 0;
      const { loadWh, pvWh, evWh, heatPumpWh } = forecast;
      const energy = { loadWh, pvWh, evWh, heatPumpWh, batteryWh };
      const netWh = forecastNetWh + batteryWh;
      const limitPrice =
        netWh > 0 ? buyLimit(context.prices, eagerness) : sellLimit(context.prices, eagerness);
      return {
        intent: intentOf(household, netWh, limitPrice, slotStartMs, donations.leftWh(slotStartMs)),
        energy,
      };
    },
    observe(feedback) {
      donations.record(feedback.slotStartMs, feedback.donatedWh);
    },
  };
}

function buyLimit({ feedIn, retail, networkFee }: Tariff, eagerness: number): number {
  const ceiling = Math.max(feedIn, retail - networkFee);
  return Math.round(feedIn + (ceiling - feedIn) * (0.5 + eagerness / 2));
}

function sellLimit({ feedIn, retail }: Tariff, eagerness: number): number {
  return Math.round(feedIn + (retail - feedIn) * (0.5 - eagerness / 2));
}
