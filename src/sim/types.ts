/**
 * What a simulation run produces: one record per slot (stored as it goes, the basis of resume), the
 * per-slot series and per-household outcomes the report draws, and the run's summary.
 * @module
 */
import type { BillingPrices, HouseholdSlotBill } from "../billing/index.ts";
import type { BilateralTrade, Commitments, Side, ZoneOutcome } from "../market/index.ts";
import type { Money } from "../units/index.ts";

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

/** Who cleared the community stage: the plaintext reference or the three MPC nodes. */
export type EngineName = "reference" | "mpc";

/** The run's headline figures (`summary.json`). Energy in Wh, money in money units (1e-7 EUR). */
export interface RunSummary {
  readonly scenario: string;
  readonly engine: EngineName;
  readonly seed: number;
  readonly households: number;
  readonly slots: number;
  /** Slots in which the community auction traded. */
  readonly slotsCleared: number;
  readonly communityTradedWh: number;
  readonly bilateralWh: number;
  /** Of the bilateral volume, what was given away at price 0. */
  readonly donatedWh: number;
  readonly supplierBoughtWh: number;
  readonly supplierSoldWh: number;
  /** Sum over households of (plain tariff − bill): what the community saved its members. */
  readonly savingsMoney: Money;
  /** What the supplier received (negative: paid) for covering deviations over the run. */
  readonly supplierDeviationBalanceMoney: Money;
  /** Share of the community's metered consumption met by its own generation (community + bilateral), 0..1. */
  readonly selfSufficiency: number;
}

/** Per-slot series for the report, aligned with `slots`. */
export interface RunSeries {
  readonly slots: readonly string[];
  readonly clearingPrice: readonly (number | null)[];
  readonly feedIn: readonly number[];
  readonly retail: readonly number[];
  readonly communityWh: readonly number[];
  readonly bilateralWh: readonly number[];
  readonly supplierBoughtWh: readonly number[];
  readonly supplierSoldWh: readonly number[];
  /** Metered consumption and generation of the whole community. */
  readonly consumptionWh: readonly number[];
  readonly generationWh: readonly number[];
  /** `TD`: the net deviation of the community. */
  readonly deviationWh: readonly number[];
}

/** One household's outcome over the run, for the report. */
export interface HouseholdOutcome {
  readonly id: string;
  readonly billMoney: Money;
  readonly plainTariffMoney: Money;
  readonly savingMoney: Money;
  readonly deviationWh: number;
}
