/**
 * Market splitting over feeder zones (docs/market-splitting.md): the pooled auction, and whenever a
 * zone's net flow breaks a DSO limit, that zone is split off with its flow fixed at the limit, until
 * no limit is broken. Deterministic; limits are never exceeded; equal to the pooled auction when no
 * limit binds.
 * @module
 */
import {
  ABOVE_GRID,
  type AuctionOrder,
  BELOW_GRID,
  clearAuction,
  compareIds,
  type PriceBand,
} from "./auction.ts";
import type { Zone } from "./types.ts";

/** One zone's orders, split by side. */
export interface ZoneBook {
  readonly zone: Zone;
  readonly buys: readonly AuctionOrder[];
  readonly sells: readonly AuctionOrder[];
}

/** A zone's outcome: its price, its net export, and its orders' fills (aligned with its book). */
export interface ZoneClearing {
  readonly clearingPrice: number | null;
  readonly netExportWh: number;
  readonly buyFillsWh: readonly number[];
  readonly sellFillsWh: readonly number[];
}

/** Result of market splitting: the hub price, and each zone's outcome aligned with the books. */
export interface SplitResult {
  /** The price of the uncongested part of the community (the hub). */
  readonly clearingPrice: number | null;
  readonly zones: readonly ZoneClearing[];
}

/** A congested zone split off from the hub, with its flow fixed at the limit it broke. */
interface SplitZone {
  readonly book: ZoneBook;
  /** "export": it sent more than its export limit; "import": it took more than its import limit. */
  readonly direction: "export" | "import";
}

/**
 * Clears a zoned order book by iterated market splitting.
 *
 * 1. Clear the hub: every order of the zones not yet split off, plus, for each split zone, its flow
 *    at its limit as an order that takes any price (an exporting zone sells, an importing zone buys).
 * 2. If some hub zone's net export lies outside `[−importLimit, exportLimit]`, split off the one with
 *    the largest excess (ties: lowest zone id) and go back to 1.
 * 3. Each split zone's flow is what the hub took of its flow order (at most its limit); the zone then
 *    clears its own orders plus that flow, as an order that takes any price, at its own price.
 */
export function splitMarket(books: readonly ZoneBook[], band: PriceBand): SplitResult {
  const split: SplitZone[] = [];
  for (;;) {
    const hubBooks = books.filter((book) => !split.some((s) => s.book === book));
    const splitFlows = split.map(({ book, direction }) =>
      flowOrder(book.zone.id, direction === "export" ? book.zone.exportLimitWh : -book.zone.importLimitWh),
    );
    const hub = clearPart(hubBooks, splitFlows, band);
    const worst = mostCongested(hubBooks, hub.zones);
    if (worst !== null) {
      split.push(worst);
      continue;
    }
    const zones = books.map((book): ZoneClearing => {
      const hubIndex = hubBooks.indexOf(book);
      if (hubIndex >= 0) return { clearingPrice: hub.clearingPrice, ...(hub.zones[hubIndex] as PartFills) };
      const at = split.findIndex((s) => s.book === book);
      const flow = splitFlows[at] as AuctionOrder;
      const netExportWh = (flow.limitPrice === BELOW_GRID ? 1 : -1) * (hub.flowFillsWh[at] as number);
      // Seen from inside the zone the flow changes side: the energy it exports is bought from it.
      const own = clearPart([book], [flowOrder(book.zone.id, -netExportWh)], band);
      return { clearingPrice: own.clearingPrice, ...(own.zones[0] as PartFills), netExportWh };
    });
    return { clearingPrice: hub.clearingPrice, zones };
  }
}

/**
 * A flow across a zone boundary as an order that takes any price, seen from the side that receives
 * `netInflowWh > 0` (a sell into it) or gives `netInflowWh < 0` (a buy from it).
 */
function flowOrder(zoneId: string, netInflowWh: number): AuctionOrder {
  return netInflowWh >= 0
    ? { id: zoneId, volumeWh: netInflowWh, limitPrice: BELOW_GRID }
    : { id: zoneId, volumeWh: -netInflowWh, limitPrice: ABOVE_GRID };
}

type PartFills = Omit<ZoneClearing, "clearingPrice">;

/** Clears several zones' orders together with flow orders: one auction, its fills cut back per zone. */
function clearPart(
  books: readonly ZoneBook[],
  flows: readonly AuctionOrder[],
  band: PriceBand,
): { clearingPrice: number | null; zones: PartFills[]; flowFillsWh: number[] } {
  const flowBuys = flows.filter((flow) => flow.volumeWh > 0 && flow.limitPrice === ABOVE_GRID);
  const flowSells = flows.filter((flow) => flow.volumeWh > 0 && flow.limitPrice === BELOW_GRID);
  const auction = clearAuction(
    books.flatMap((book) => book.buys).concat(flowBuys),
    books.flatMap((book) => book.sells).concat(flowSells),
    band,
  );
  let buyOffset = 0;
  let sellOffset = 0;
  const zones = books.map((book): PartFills => {
    const buyFillsWh = auction.buyFillsWh.slice(buyOffset, buyOffset + book.buys.length);
    const sellFillsWh = auction.sellFillsWh.slice(sellOffset, sellOffset + book.sells.length);
    buyOffset += book.buys.length;
    sellOffset += book.sells.length;
    let netExportWh = 0;
    for (const fill of sellFillsWh) netExportWh += fill;
    for (const fill of buyFillsWh) netExportWh -= fill;
    return { buyFillsWh, sellFillsWh, netExportWh };
  });
  const flowFillsWh = flows.map((flow) => {
    const buyAt = flowBuys.indexOf(flow);
    if (buyAt >= 0) return auction.buyFillsWh[buyOffset + buyAt] as number;
    const sellAt = flowSells.indexOf(flow);
    return sellAt >= 0 ? (auction.sellFillsWh[sellOffset + sellAt] as number) : 0;
  });
  return { clearingPrice: auction.clearingPrice, zones, flowFillsWh };
}

/** The hub zone that breaks its limit by the most Wh (ties: lowest id), or null when all hold. */
function mostCongested(books: readonly ZoneBook[], outcomes: readonly PartFills[]): SplitZone | null {
  let worst: SplitZone | null = null;
  let worstExcessWh = 0;
  books.forEach((book, index) => {
    const net = (outcomes[index] as PartFills).netExportWh;
    const exportExcessWh = net - book.zone.exportLimitWh;
    const importExcessWh = -net - book.zone.importLimitWh;
    const excessWh = Math.max(exportExcessWh, importExcessWh);
    const tieWon =
      worst !== null && excessWh === worstExcessWh && compareIds(book.zone.id, worst.book.zone.id) < 0;
    if (excessWh > worstExcessWh || (excessWh > 0 && tieWon)) {
      worst = { book, direction: exportExcessWh > 0 ? "export" : "import" };
      worstExcessWh = excessWh;
    }
  });
  return worst;
}
