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

/**
 * What the nodes keep of each counted household when they clear a slot (`clear-slot`), as shares,
 * one row per household: its billing columns (BILL_FIELDS without the reading) and the line columns
 * only the clearing knows — its community order after the bilateral stage (+ buy, − sell; 0 without
 * one) and that order's limit (0 without one). The line's community fill and committed import and
 * export are sums of these (`lineColumnsOf`), so they are not kept twice.
 */
export const COMMITMENT_COLUMNS = [
  "communityBuyWh",
  "communitySellWh",
  "supplierBuyWh",
  "supplierSellWh",
  "bilateralBuyWh",
  "bilateralSellWh",
  "bilateralMoney",
  "orderWh",
  "limitPrice",
] as const;
