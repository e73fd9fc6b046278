/**
 * The community auction's interchange types (spec/io.md, version 1): one slot's order book in, its
 * clearing out. Quantities are integers in the units of DESIGN.md.
 * @module
 */

export type Side = "buy" | "sell";

/** A household's community order for one slot. */
export interface Order {
  readonly id: string;
  readonly side: Side;
  /** Wh wanted (buy) or offered (sell), > 0. */
  readonly volumeWh: number;
  /** Highest price paid (buy) or lowest accepted (sell), in `[feedIn, retail]`. */
  readonly limitPrice: number;
  /** The feeder zone of the household's connection; required when the book has zones. */
  readonly zone?: string;
  /** The DSO's cap for this connection in this slot: import cap for a buy, export cap for a sell. */
  readonly connectionCapWh?: number;
}

/** The supplier's tariffs for the slot, in price units: they bound every community limit price. */
export interface SlotPrices {
  readonly feedIn: number;
  readonly retail: number;
}

/** A feeder zone with the DSO's limits on its net flow to (export) and from (import) the rest of the community. */
export interface Zone {
  readonly id: string;
  readonly exportLimitWh: number;
  readonly importLimitWh: number;
}

/** Input of `snippet clear`. */
export interface ClearRequest {
  readonly version: 1;
  /** Slot start, ISO 8601. */
  readonly slot: string;
  readonly prices: SlotPrices;
  readonly orders: readonly Order[];
  readonly zones?: readonly Zone[];
}

/** What one order got. `cappedWh` appears only when the connection cap cut the order: the volume it cleared with. */
export interface Fill {
  readonly id: string;
  readonly filledWh: number;
  readonly cappedWh?: number;
}

/** A zone's own price (the community price unless it is congested) and net export (negative: import). */
export interface ZoneOutcome {
  readonly id: string;
  readonly clearingPrice: number | null;
  readonly netExportWh: number;
}

/** Output of `snippet clear`: fills in input order; `zones` in input order when the book has zones. */
export interface ClearResult {
  readonly version: 1;
  readonly slot: string;
  /** The price of the uncongested community; null when nothing trades there. */
  readonly clearingPrice: number | null;
  /** Total community volume traded, Wh (equal on both sides). */
  readonly volumeWh: number;
  readonly fills: readonly Fill[];
  readonly zones?: readonly ZoneOutcome[];
}

/** One bilateral trade (stage 1) as one of its two households sees it; price 0 is a donation. */
export interface BilateralCommitment {
  readonly partner: string;
  readonly side: Side;
  readonly volumeWh: number;
  readonly price: number;
}

/** Everything stages 1–3 committed a household to in one slot. */
export interface Commitments {
  readonly communityBuyWh: number;
  readonly communitySellWh: number;
  /**
   * The price of the household's community trade when its feeder zone was split off with a price of
   * its own (docs/market-splitting.md); absent: the slot's clearing price.
   */
  readonly communityPrice?: number;
  readonly bilateral: readonly BilateralCommitment[];
  readonly supplierBuyWh: number;
  readonly supplierSellWh: number;
}
