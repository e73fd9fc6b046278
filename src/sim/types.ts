/**
 * What a simulation run produces besides its slot records (billing/record.ts): the
 * per-slot series and per-household outcomes the report draws, and the run's summary.
 * @module
 */
import type { Money } from "../units/index.ts";

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
