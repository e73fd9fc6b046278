/**
 * The layout of a bill: the input words of one household in one slot, and the output words the
 * nodes give back or keep, each a column over all household-slots of a run.
 * @module
 */

/** The input words of one household in one slot, in this order; each column holds all household-slots. */
export const BILL_FIELDS = [
  "communityBuyWh",
  "communitySellWh",
  "supplierBuyWh",
  "supplierSellWh",
  "bilateralBuyWh",
  "bilateralSellWh",
  /** Σ bilateral buys × price − sells × price, money units: the household's own agreements. */
  "bilateralMoney",
  "importWh",
  "exportWh",
] as const;

/** The output words of one household in one slot, in this order (columns, as the inputs). */
export const BILL_OUTPUTS = ["money", "deviationWh", "deviationMoney", "plainTariffMoney"] as const;

/** Household-slots of one run: its inputs stay within a request's bound of 4·10^6 words. */
export const MAX_HOUSEHOLD_SLOTS = Math.floor(4_000_000 / BILL_FIELDS.length);
