/**
 * Billing's interchange types (spec/io.md `snippet bill`, version 1): per slot, each household's
 * commitments from the three market stages and its metered energy; out, its bills.
 * @module
 */
import type { Commitments } from "../market/types.ts";
import type { Money, SlotMoney } from "../units/index.ts";

export type { BilateralCommitment, Commitments } from "../market/types.ts";

/** The two UCS variants of spec/billing.md: how a deviation pool is shared among its households. */
export type BillingModel = "ucs-uniform" | "ucs-proportional";
export const BILLING_MODELS: readonly BillingModel[] = ["ucs-uniform", "ucs-proportional"];

/** A meter's signed reading for one slot. */
export interface MeterReading {
  readonly importWh: number;
  readonly exportWh: number;
}

export interface HouseholdSlot {
  readonly id: string;
  readonly committed: Commitments;
  readonly metered: MeterReading;
  /**
   * What the connection can physically carry in the slot, Wh, in either direction (its fuse rating
   * over the slot; not the DSO's trading cap, which a reading may exceed): a reading above it cannot
   * be what flowed, is implausible and is billed as a missing one. Absent: no bound.
   */
  readonly physicalCapacityWh?: number;
}

/** A reading the plausibility rule of spec/billing.md refused: the household, and why. */
export interface ImplausibleReading {
  readonly id: string;
  readonly reason: string;
}

/** Tariffs of a slot, in price units; `networkFee` is the DSO's fee per kWh bought from peers. */
export interface BillingPrices {
  readonly feedIn: number;
  readonly retail: number;
  readonly networkFee: number;
}

export interface BillingSlot {
  readonly slot: string;
  readonly prices: BillingPrices;
  /** The community clearing price `p*`; null when the slot had no community trade. */
  readonly clearingPrice: number | null;
  readonly households: readonly HouseholdSlot[];
}

/** Input of `snippet bill`. */
export interface BillRequest {
  readonly version: 1;
  readonly slots: readonly BillingSlot[];
}

/**
 * One household's bill for one slot, split by what it pays for, in money units. `money` is the sum
 * of the parts; positive is owed, negative is paid to the household.
 */
export interface HouseholdSlotBill {
  readonly id: string;
  /** `d_k`: metered minus committed net export; 0 without commitments. */
  readonly deviationWh: number;
  readonly money: SlotMoney;
  readonly communityMoney: SlotMoney;
  readonly bilateralMoney: SlotMoney;
  readonly supplierMoney: SlotMoney;
  readonly networkFeeMoney: SlotMoney;
  /** `−DP·d_k` plus the household's share of the deviation pool. */
  readonly deviationMoney: SlotMoney;
  /** What a household without commitments pays at the plain tariff; 0 otherwise. */
  readonly plainTariffMoney: SlotMoney;
}

/** All bills of one slot, in input order, with the supplier's side of the deviations. */
export interface SlotBilling {
  readonly slot: string;
  readonly bills: readonly HouseholdSlotBill[];
  /** `TD`: the sum of the deviations of households with commitments. */
  readonly totalDeviationWh: number;
  /** The sum of all deviation parts: what the supplier receives for covering deviations (negative: pays). */
  readonly supplierDeviationMoney: Money;
  /** Readings refused as implausible, in input order: those households were billed at their commitment. */
  readonly implausible: readonly ImplausibleReading[];
}
