/**
 * The layout of a bill: the input words of one household in one slot, and the output words the
 * nodes give back or keep, each a column over all household-slots of a run.
 * @module
 */

/**
 * What a household's commitments of a slot give its bill, one input word each: what it bought and
 * sold in the community, from its supplier and from its partners.
 */
const COMMITTED_FIELDS = [
  "communityBuyWh",
  "communitySellWh",
  "supplierBuyWh",
  "supplierSellWh",
  "bilateralBuyWh",
  "bilateralSellWh",
  /** Σ bilateral buys × price − sells × price, money units: the household's own agreements. */
  "bilateralMoney",
] as const;

/** The input words of one household in one slot, in this order; each column holds all household-slots. */
export const BILL_FIELDS = [...COMMITTED_FIELDS, "importWh", "exportWh"] as const;

/** The output words of one household in one slot, in this order (columns, as the inputs). */
export const BILL_OUTPUTS = ["money", "deviationWh", "deviationMoney", "plainTariffMoney"] as const;

/** Household-slots of one run: its inputs stay within a request's bound of 4·10^6 words. */
export const MAX_HOUSEHOLD_SLOTS = Math.floor(4_000_000 / BILL_FIELDS.length);

/**
 * What the nodes keep of each counted household when they clear a slot (`clear-slot`), as shares,
 * one row per household: its billing columns (BILL_FIELDS without the reading, in their order, so
 * the first COMMITTED_BILL_COLUMNS of a row are its first bill inputs) and the line columns only the
 * clearing knows — its community order after the bilateral stage (+ buy, − sell; 0 without one) and
 * that order's limit (0 without one). The line's community fill and committed import and export are
 * sums of these (`linesOf` in slot.ts), so they are not kept twice.
 */
export const COMMITMENT_COLUMNS = [...COMMITTED_FIELDS, "orderWh", "limitPrice"] as const;

/** The leading columns that COMMITMENT_COLUMNS and BILL_FIELDS share. */
export const COMMITTED_BILL_COLUMNS = COMMITTED_FIELDS.length;
