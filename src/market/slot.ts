/**
 * One whole market slot, stages 1–3 of spec/market.md: connection caps, bilateral trades, the
 * community auction on what is left, and the supplier for every remainder, so that each household
 * ends up committed to exactly its (capped) order volume.
 * @module
 */
import { type BilateralPosition, type BilateralTrade, matchBilateral } from "./bilateral.ts";
import { clearCommunity } from "./clear.ts";
import type { ClearResult, Commitments, Order, Side, SlotPrices, Zone } from "./types.ts";

/** What a household (or its agent) brings to a slot. */
export interface HouseholdIntent extends BilateralPosition {
  /** Limit of its community order, in `[feedIn, retail]`. */
  readonly limitPrice: number;
  readonly zone?: string;
  readonly connectionCapWh?: number;
  /** false: it deals only with its partners and its supplier in this slot (outside its trading window). */
  readonly community?: boolean;
}

export interface SlotRequest {
  readonly slot: string;
  readonly prices: SlotPrices;
  readonly households: readonly HouseholdIntent[];
  readonly zones?: readonly Zone[];
}

/** The three stages' outcome of one slot. */
export interface SlotOutcome {
  readonly bilateral: readonly BilateralTrade[];
  /** The community orders: the households' remainders after stage 1, inside their trading windows. */
  readonly orders: readonly Order[];
  readonly community: ClearResult;
  /** Each household's commitments, aligned with the request's households. */
  readonly commitments: readonly {
    readonly id: string;
    readonly cappedWh: number;
    readonly committed: Commitments;
  }[];
}

/**
 * Runs stages 1–3 of one slot. The households' ids must be unique and their limits inside the
 * tariffs (see {@link parseClearRequest} for the community part).
 */
export function clearSlot(request: SlotRequest): SlotOutcome {
  const capped = request.households.map((household) => ({
    ...household,
    volumeWh: Math.min(household.volumeWh, household.connectionCapWh ?? household.volumeWh),
  }));
  const bilateral = matchBilateral(capped);
  const tradesOf = new Map<string, BilateralTrade[]>();
  for (const trade of bilateral) {
    for (const id of [trade.seller, trade.buyer]) tradesOf.set(id, [...(tradesOf.get(id) ?? []), trade]);
  }
  const remainderWh = (household: HouseholdIntent): number =>
    (tradesOf.get(household.id) ?? []).reduce((left, trade) => left - trade.volumeWh, household.volumeWh);

  const orders: Order[] = capped
    .filter((household) => household.community !== false && remainderWh(household) > 0)
    .map((household) => ({
      id: household.id,
      side: household.side,
      volumeWh: remainderWh(household),
      limitPrice: household.limitPrice,
      ...(household.zone === undefined ? {} : { zone: household.zone }),
    }));
  const community = clearCommunity({
    version: 1,
    slot: request.slot,
    prices: request.prices,
    orders,
    ...(request.zones === undefined ? {} : { zones: request.zones }),
  });
  const communityWh = new Map(community.fills.map((fill) => [fill.id, fill.filledWh]));
  const zonePrice = new Map(community.zones?.map((zone) => [zone.id, zone.clearingPrice]));
  // A household in a zone split off with its own price trades at that price, not the community's.
  const communityPriceOf = (household: HouseholdIntent): { communityPrice?: number } => {
    const price = household.zone === undefined ? undefined : zonePrice.get(household.zone);
    return price === undefined || price === null || price === community.clearingPrice
      ? {}
      : { communityPrice: price };
  };

  const commitments = capped.map((household) => {
    const communityWhOf = communityWh.get(household.id) ?? 0;
    const supplierWh = remainderWh(household) - communityWhOf;
    const mine = tradesOf.get(household.id) ?? [];
    const committed: Commitments = {
      ...stageVolumes(household.side, communityWhOf, supplierWh),
      ...(communityWhOf > 0 ? communityPriceOf(household) : {}),
      bilateral: mine.map((trade) => ({
        partner: trade.seller === household.id ? trade.buyer : trade.seller,
        side: trade.seller === household.id ? "sell" : "buy",
        volumeWh: trade.volumeWh,
        price: trade.price,
      })),
    };
    return { id: household.id, cappedWh: household.volumeWh, committed };
  });
  return { bilateral, orders, community, commitments };
}

function stageVolumes(side: Side, communityWh: number, supplierWh: number): Omit<Commitments, "bilateral"> {
  return side === "buy"
    ? { communityBuyWh: communityWh, communitySellWh: 0, supplierBuyWh: supplierWh, supplierSellWh: 0 }
    : { communityBuyWh: 0, communitySellWh: communityWh, supplierBuyWh: 0, supplierSellWh: supplierWh };
}
