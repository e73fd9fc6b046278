/**
 * The billing domain's public surface: the plaintext reference of spec/billing.md (UCS slot bills,
 * period bills and statements) and its input validation.
 * @module
 */
export type { BillResult, Statement, StatementEnergy, StatementMoney } from "./period.ts";
export { billingPeriodOf, billPeriod, StatementBook, summarizeBills } from "./period.ts";
export { parseBillRequest } from "./schema.ts";
export type {
  BilateralCommitment,
  BillingModel,
  BillingPrices,
  BillingSlot,
  BillRequest,
  Commitments,
  HouseholdSlot,
  HouseholdSlotBill,
  ImplausibleReading,
  MeterReading,
  SlotBilling,
} from "./types.ts";
export { BILLING_MODELS } from "./types.ts";
export {
  aboveCapacity,
  billSlot,
  commitmentParts,
  committedTotals,
  DeviationPool,
  deviationPrice,
  estimatedReading,
  implausibility,
  plainTariffMoney,
  screenReadings,
} from "./ucs.ts";
