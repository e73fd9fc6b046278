/**
 * The rule-based agent: it orders its forecast net position, prices it by a fixed rule between feed-in
 * and retail, offers surplus to its nominated partners (donations at price 0) and accepts from its
 * nominated sellers, and stays out of the community outside its trading windows.
 *
 * Pricing rule, with eagerness `e` in [0, 1] (default 0.5):
 * - a buyer never pays more for community energy than retail minus the DSO's network fee, since the
 *   fee comes on top; its limit is `feedIn + (ceiling − feedIn) · (0.5 + e/2)`;
 * - a seller asks `feedIn + (retail − feedIn) · (0.5 − e/2)`.
 * Eager households bid high and ask low; at the default, buyers bid at three quarters of the band and
 * sellers ask at one quarter, so the community clears between them whenever both sides exist.
 * @module
 */
import type { HouseholdIntent, PartnerAcceptance, PartnerOffer } from "../market/index.ts";
import { type Agent, type AgentContext, netPositionWh } from "./agent.ts";

/** A household's standing instructions to its rule-based agent (from the scenario). */
export interface RuleBasedPreferences {
  readonly offers?: readonly PartnerOffer[];
  readonly accepts?: readonly PartnerAcceptance[];
  readonly tradingWindows?: readonly { readonly fromHour: number; readonly toHour: number }[];
  readonly eagerness?: number;
}

/** The household-side settings the agent applies to every intent. */
export interface RuleBasedHousehold {
  readonly id: string;
  readonly zone?: string;
  readonly connectionCapWh?: number;
  readonly preferences?: RuleBasedPreferences;
}

const DEFAULT_EAGERNESS = 0.5;

/** Creates the rule-based agent of one household. */
export function ruleBasedAgent(household: RuleBasedHousehold): Agent {
  const eagerness = household.preferences?.eagerness ?? DEFAULT_EAGERNESS;
  return {
    householdId: household.id,
    plan(context: AgentContext): HouseholdIntent {
      const netWh = netPositionWh(context.forecast);
      const side = netWh > 0 ? "buy" : "sell";
      const { feedIn, retail, networkFee } = context.prices;
      const limitPrice =
        side === "buy"
          ? buyLimit(feedIn, retail, networkFee, eagerness)
          : sellLimit(feedIn, retail, eagerness);
      const preferences = household.preferences;
      return {
        id: household.id,
        side,
        volumeWh: Math.abs(netWh),
        limitPrice,
        ...(household.zone === undefined ? {} : { zone: household.zone }),
        ...(household.connectionCapWh === undefined ? {} : { connectionCapWh: household.connectionCapWh }),
        ...(side === "sell" && preferences?.offers !== undefined ? { offers: preferences.offers } : {}),
        ...(side === "buy" && preferences?.accepts !== undefined ? { accepts: preferences.accepts } : {}),
        community: inTradingWindow(preferences?.tradingWindows, context.slotStartMs),
      };
    },
  };
}

function buyLimit(feedIn: number, retail: number, networkFee: number, eagerness: number): number {
  const ceiling = Math.max(feedIn, retail - networkFee);
  return Math.round(feedIn + (ceiling - feedIn) * (0.5 + eagerness / 2));
}

function sellLimit(feedIn: number, retail: number, eagerness: number): number {
  return Math.round(feedIn + (retail - feedIn) * (0.5 - eagerness / 2));
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
