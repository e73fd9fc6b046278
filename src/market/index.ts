/**
 * The market domain's public surface: the plaintext reference of spec/market.md (community auction,
 * market splitting over feeder zones, bilateral stage, a whole slot) and its input validation.
 * @module
 */
export type { AuctionOrder, AuctionResult, Margin, PriceBand } from "./auction.ts";
export { clearAuction, shareProRata } from "./auction.ts";
export type { BilateralPosition, BilateralTrade, PartnerAcceptance, PartnerOffer } from "./bilateral.ts";
export { matchBilateral } from "./bilateral.ts";
export { clearCommunity } from "./clear.ts";
export type { RejectedOrder } from "./schema.ts";
export { admitOrders, parseClearRequest } from "./schema.ts";
export type { HouseholdIntent, SlotOutcome, SlotRequest } from "./slot.ts";
export { clearSlot, planSlot, type SlotPlan, settleSlot, stageCommitments } from "./slot.ts";
export type {
  BilateralCommitment,
  ClearRequest,
  ClearResult,
  Commitments,
  Fill,
  Order,
  Side,
  SlotPrices,
  Zone,
  ZoneOutcome,
} from "./types.ts";
