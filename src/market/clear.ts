/**
 * The community stage of one slot (spec/market.md stage 2 with the DSO's grid constraints): connection
 * caps, then the uniform-price auction, split over feeder zones when their limits bind.
 * @module
 */
import type { ClearRequest, ClearResult, Fill, Order, Zone } from "./types.ts";
import { splitMarket, type ZonedOrder } from "./zones.ts";

/** A book without zones is one zone without limits, which never splits. */
const WHOLE_COMMUNITY: Zone = {
  id: "",
  exportLimitWh: Number.POSITIVE_INFINITY,
  importLimitWh: Number.POSITIVE_INFINITY,
};

/**
 * Clears one slot's community order book. The request must have passed {@link parseClearRequest}
 * (limits inside `[feedIn, retail]`, unique ids, known zones).
 * @returns the `snippet clear` output: fills in input order, zones in input order when present.
 */
export function clearCommunity(request: ClearRequest): ClearResult {
  const capped = request.orders.map(cappedVolumeWh);
  const zoned = request.orders.map(
    (order, index): ZonedOrder => ({
      id: order.id,
      side: order.side,
      volumeWh: capped[index] as number,
      limitPrice: order.limitPrice,
      zone: order.zone ?? WHOLE_COMMUNITY.id,
    }),
  );
  const split = splitMarket(zoned, request.zones ?? [WHOLE_COMMUNITY], request.prices);
  let volumeWh = 0;
  const fills = request.orders.map((order, index): Fill => {
    const filledWh = split.fillsWh[index] as number;
    if (order.side === "buy") volumeWh += filledWh;
    const cappedWh = capped[index] as number;
    return cappedWh < order.volumeWh ? { id: order.id, filledWh, cappedWh } : { id: order.id, filledWh };
  });
  const result: ClearResult = {
    version: 1,
    slot: request.slot,
    clearingPrice: split.clearingPrice,
    volumeWh,
    fills,
  };
  if (request.zones === undefined) return result;
  return {
    ...result,
    zones: request.zones.map((zone, index) => ({
      id: zone.id,
      ...(split.zones[index] as (typeof split.zones)[number]),
    })),
  };
}

/** An order's volume after the DSO's connection cap. */
function cappedVolumeWh(order: Order): number {
  return order.connectionCapWh === undefined
    ? order.volumeWh
    : Math.min(order.volumeWh, order.connectionCapWh);
}
