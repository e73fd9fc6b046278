/**
 * What one slot of a market produced for its households, as stored, posted and reported: each
 * household's order, commitments, meter reading and bill, with the slot's public figures.
 * @module
 */
import type { BilateralTrade, Commitments, Side, ZoneOutcome } from "../market/index.ts";
import type { BillingPrices, HouseholdSlotBill } from "./index.ts";

/** One household in one slot: its community order, its commitments, its meter, its bill. */
export interface HouseholdSlotRecord {
  readonly id: string;
  /** The community order it submitted, after bilateral trades; null when it stayed out. */
  readonly order: { readonly side: Side; readonly volumeWh: number; readonly limitPrice: number } | null;
  readonly committed: Commitments;
  readonly metered: { readonly importWh: number; readonly exportWh: number };
  readonly bill: HouseholdSlotBill;
}

/** Everything one slot of a run produced. */
export interface SlotRecord {
  /** Position in the run, from 0. */
  readonly index: number;
  /** Slot start, ISO 8601. */
  readonly slot: string;
  readonly prices: BillingPrices;
  readonly clearingPrice: number | null;
  readonly communityVolumeWh: number;
  readonly bilateral: readonly BilateralTrade[];
  readonly zones?: readonly ZoneOutcome[];
  /** Aligned with the scenario's households. */
  readonly households: readonly HouseholdSlotRecord[];
}
