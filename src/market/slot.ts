/**
 * One whole market slot, stages 1–3 of spec/market.md: connection caps, bilateral trades, the
 * community auction on what is left, and the supplier for every remainder, so that each household
 * ends up committed to exactly its (capped) order volume.
 * @module
 */
import { type BilateralPosition, type BilateralTrade, matchBilateral } from "./bilateral.ts";
import { clearCommunity } from "./clear.ts";
import type {
  BilateralCommitment,
  ClearRequest,
  ClearResult,
  Commitments,
  Order,
  Side,
  SlotPrices,
  Zone,
} from "./types.ts";

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
  const plan = planSlot(request);
  return settleSlot(plan, clearCommunity(plan.communityRequest));
}

/** Stage 1 done and the community book built: what any engine of stage 2 clears. */
export interface SlotPlan {
  readonly request: SlotRequest;
  readonly cappedWh: readonly number[];
  readonly bilateral: readonly BilateralTrade[];
  readonly tradesOf: ReadonlyMap<string, readonly BilateralTrade[]>;
  readonly remainderWh: readonly number[];
  readonly communityRequest: ClearRequest;
}

/** Connection caps and the bilateral stage; the households' remainders become the community book. */
export function planSlot(request: SlotRequest): SlotPlan {
  const households = request.households;
  const cappedWh = households.map((household) =>
    Math.min(household.volumeWh, household.connectionCapWh ?? household.volumeWh),
  );
  const bilateral = matchBilateral(
    households.map((household, h) =>
      cappedWh[h] === household.volumeWh ? household : { ...household, volumeWh: cappedWh[h] as number },
    ),
  );
  const tradesOf = new Map<string, BilateralTrade[]>();
  for (const trade of bilateral) {
    for (const id of [trade.seller, trade.buyer]) {
      const trades = tradesOf.get(id);
      if (trades === undefined) tradesOf.set(id, [trade]);
      else trades.push(trade);
    }
  }
  const remainderWh = households.map((household, h) => {
    let leftWh = cappedWh[h] as number;
    for (const trade of tradesOf.get(household.id) ?? []) leftWh -= trade.volumeWh;
    return leftWh;
  });

  const orders: Order[] = [];
  households.forEach((household, h) => {
    const volumeWh = remainderWh[h] as number;
    if (household.community === false || volumeWh === 0) return;
    const { id, side, limitPrice, zone } = household;
    orders.push(
      zone === undefined ? { id, side, volumeWh, limitPrice } : { id, side, volumeWh, limitPrice, zone },
    );
  });
  const communityRequest: ClearRequest = {
    version: 1,
    slot: request.slot,
    prices: request.prices,
    orders,
    ...(request.zones === undefined ? {} : { zones: request.zones }),
  };
  return { request, cappedWh, bilateral, tradesOf, remainderWh, communityRequest };
}

/**
 * Stage 3 once the community has cleared (by any engine; an uncleared slot is a result with no
 * fills): every remainder goes to the supplier, so each household is committed to its capped volume.
 */
export function settleSlot(plan: SlotPlan, community: ClearResult): SlotOutcome {
  const { request, cappedWh, bilateral, tradesOf, remainderWh } = plan;
  const households = request.households;
  const orders = plan.communityRequest.orders;
  const communityWh = new Map(community.fills.map((fill) => [fill.id, fill.filledWh]));
  // A household in a zone split off with its own price trades at that price, not the community's.
  const zonePrice = new Map(
    community.zones
      ?.filter((zone) => zone.clearingPrice !== community.clearingPrice)
      .map((zone) => [zone.id, zone.clearingPrice]),
  );

  const commitments = households.map((household, h) => {
    const communityWhOf = communityWh.get(household.id) ?? 0;
    const bilateralOf = (tradesOf.get(household.id) ?? []).map(
      (trade): BilateralCommitment => ({
        partner: trade.seller === household.id ? trade.buyer : trade.seller,
        side: trade.seller === household.id ? "sell" : "buy",
        volumeWh: trade.volumeWh,
        price: trade.price,
      }),
    );
    const ownPrice = household.zone === undefined ? undefined : (zonePrice.get(household.zone) ?? undefined);
    return {
      id: household.id,
      cappedWh: cappedWh[h] as number,
      committed: stageCommitments(
        household.side,
        communityWhOf,
        (remainderWh[h] as number) - communityWhOf,
        bilateralOf,
        ownPrice,
      ),
    };
  });
  return { bilateral, orders, community, commitments };
}

/**
 * A household's commitments on its side of the market: community and supplier volumes, its bilateral
 * trades, and its zone's own price when it traded in a zone split off from the community.
 */
export function stageCommitments(
  side: Side,
  communityWh: number,
  supplierWh: number,
  bilateral: readonly BilateralCommitment[],
  communityPrice: number | undefined,
): Commitments {
  const buying = side === "buy";
  const committed: Commitments = {
    communityBuyWh: buying ? communityWh : 0,
    communitySellWh: buying ? 0 : communityWh,
    bilateral,
    supplierBuyWh: buying ? supplierWh : 0,
    supplierSellWh: buying ? 0 : supplierWh,
  };
  return communityWh > 0 && communityPrice !== undefined ? { ...committed, communityPrice } : committed;
}
