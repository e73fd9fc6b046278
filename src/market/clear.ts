/**
 * The community stage of one slot (spec/market.md stage 2 with the DSO's grid constraints): connection
 * caps, then the uniform-price auction, split over feeder zones when their limits bind.
 * @module
 */
import type { AuctionOrder } from "./auction.ts";
import type { ClearRequest, ClearResult, Fill, Order, Zone } from "./types.ts";
import { splitMarket, type ZoneBook } from "./zones.ts";

/** A book without zones is one zone without limits, which never splits. */
const WHOLE_COMMUNITY: Zone = {
  id: "",
  exportLimitWh: Number.POSITIVE_INFINITY,
  importLimitWh: Number.POSITIVE_INFINITY,
};

/** A zone's book as it is filled, with each order's position in the request. */
interface PlacedBook extends ZoneBook {
  readonly buys: AuctionOrder[];
  readonly sells: AuctionOrder[];
  readonly buyPositions: number[];
  readonly sellPositions: number[];
}

/**
 * Clears one slot's community order book. The request must have passed {@link parseClearRequest}
 * (limits inside `[feedIn, retail]`, unique ids, known zones).
 * @returns the `snippet clear` output: fills in input order, zones in input order when present.
 */
export function clearCommunity(request: ClearRequest): ClearResult {
  const zones = request.zones ?? [WHOLE_COMMUNITY];
  const books: PlacedBook[] = zones.map((zone) => ({
    zone,
    buys: [],
    sells: [],
    buyPositions: [],
    sellPositions: [],
  }));
  const bookOf = new Map(books.map((book) => [book.zone.id, book]));
  request.orders.forEach((order, position) => {
    const book = bookOf.get(order.zone ?? WHOLE_COMMUNITY.id) as PlacedBook;
    const cappedWh = cappedVolumeWh(order);
    const placed = cappedWh === order.volumeWh ? order : { ...order, volumeWh: cappedWh };
    if (order.side === "buy") {
      book.buys.push(placed);
      book.buyPositions.push(position);
    } else {
      book.sells.push(placed);
      book.sellPositions.push(position);
    }
  });

  const split = splitMarket(books, request.prices);
  const fillsWh = new Array<number>(request.orders.length);
  let volumeWh = 0;
  books.forEach((book, z) => {
    const outcome = split.zones[z];
    book.buyPositions.forEach((position, k) => {
      const filledWh = outcome?.buyFillsWh[k] as number;
      fillsWh[position] = filledWh;
      volumeWh += filledWh;
    });
    book.sellPositions.forEach((position, k) => {
      fillsWh[position] = outcome?.sellFillsWh[k] as number;
    });
  });
  const fills = request.orders.map((order, position): Fill => {
    const filledWh = fillsWh[position] as number;
    const cappedWh = cappedVolumeWh(order);
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
    zones: request.zones.map((zone, z) => ({
      id: zone.id,
      clearingPrice: split.zones[z]?.clearingPrice ?? null,
      netExportWh: split.zones[z]?.netExportWh ?? 0,
    })),
  };
}

/** An order's volume after the DSO's connection cap. */
function cappedVolumeWh(order: Order): number {
  return order.connectionCapWh === undefined
    ? order.volumeWh
    : Math.min(order.volumeWh, order.connectionCapWh);
}
