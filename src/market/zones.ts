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
  type AuctionResult,
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
  /**
   * Every auction the procedure ran, in order: the hub passes, then the split-off zones (flow orders
   * last on their side). Their public figures are what a secure clearing may disclose.
   */
  readonly auctions: readonly AuctionResult[];
}

/** A congested zone split off from the hub, with its flow fixed at the limit it broke. */
interface SplitZone {
  readonly book: ZoneBook;
  /** "export": it sent more than its export limit; "import": it took more than its import limit. */
  readonly direction: "export" | "import";
  /** The hub price at which it broke the limit. */
  readonly hubPrice: number;
}

/**
 * Clears a zoned order book by iterated market splitting.
 *
 * 1. Clear the hub: every order of the zones not yet split off, plus one flow order per split zone:
 *    its limit, offered at the hub price at which it was split off (an exporting zone sells at that
 *    price or more, an importing zone buys at that price or less).
 * 2. If some hub zone's net export lies outside `[−importLimit, exportLimit]`, split off the one with
 *    the largest excess (ties: lowest zone id) and go back to 1.
 * 3. Each split zone's flow is what the hub took of its flow order (at most its limit); the zone then
 *    clears its own orders plus that flow, as an order that takes any price, at its own price: no
 *    higher than the hub price at which it was split off if it exports, no lower if it imports.
 */
export function splitMarket(books: readonly ZoneBook[], band: PriceBand): SplitResult {
  const split: SplitZone[] = [];
  const auctions: AuctionResult[] = [];
  for (;;) {
    const hubBooks = books.filter((book) => !split.some((s) => s.book === book));
    const hub = clearPart(hubBooks, split.map(hubFlow), band);
    auctions.push(hub.auction);
    const worst = mostCongested(hubBooks, hub.zones, hub.clearingPrice);
    if (worst !== null) {
      split.push(worst);
      continue;
    }
    const zones = books.map((book): ZoneClearing => {
      const hubIndex = hubBooks.indexOf(book);
      if (hubIndex >= 0) return { clearingPrice: hub.clearingPrice, ...(hub.zones[hubIndex] as PartFills) };
      const at = split.findIndex((s) => s.book === book);
      const zone = split[at] as SplitZone;
      const flowWh = hub.flowFillsWh[at] as number;
      const own = clearPart([book], [zoneFlow(zone, flowWh)], splitZoneBand(zone, band));
      auctions.push(own.auction);
      // 0 − flow, not −flow: a zone that imports nothing reports 0, not −0.
      const netExportWh = zone.direction === "export" ? flowWh : 0 - flowWh;
      return { clearingPrice: own.clearingPrice, ...(own.zones[0] as PartFills), netExportWh };
    });
    return { clearingPrice: hub.clearingPrice, zones, auctions };
  }
}

/** A flow across a zone boundary as one side of an auction sees it. */
interface FlowOrder {
  readonly side: "buy" | "sell";
  readonly order: AuctionOrder;
}

/**
 * A split zone's flow as the hub sees it: its limit, at the hub price at which it broke that limit.
 * Once filled, it trades at a hub price no better for the zone than that, so with the zone's own price
 * on the far side of it (see {@link splitZoneBand}) energy always flows from the cheaper side.
 */
function hubFlow(split: SplitZone): FlowOrder {
  const { zone } = split.book;
  return split.direction === "export"
    ? { side: "sell", order: { id: zone.id, volumeWh: zone.exportLimitWh, limitPrice: split.hubPrice } }
    : { side: "buy", order: { id: zone.id, volumeWh: zone.importLimitWh, limitPrice: split.hubPrice } };
}

/**
 * A split zone's flow as the zone itself sees it: the energy it exports is bought from it, the energy
 * it imports is sold to it, by an order that takes any price, so that the flow trades in full.
 */
function zoneFlow(split: SplitZone, flowWh: number): FlowOrder {
  const id = split.book.zone.id;
  return split.direction === "export"
    ? { side: "buy", order: { id, volumeWh: flowWh, limitPrice: ABOVE_GRID } }
    : { side: "sell", order: { id, volumeWh: flowWh, limitPrice: BELOW_GRID } };
}

type PartFills = Omit<ZoneClearing, "clearingPrice">;

/** Clears several zones' orders together with flow orders: one auction, its fills cut back per zone. */
function clearPart(
  books: readonly ZoneBook[],
  flows: readonly FlowOrder[],
  band: PriceBand,
): { clearingPrice: number | null; zones: PartFills[]; flowFillsWh: number[]; auction: AuctionResult } {
  const flowBuys = flows.filter((flow) => flow.side === "buy").map((flow) => flow.order);
  const flowSells = flows.filter((flow) => flow.side === "sell").map((flow) => flow.order);
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
  const flowFillsWh = flows.map((flow) =>
    flow.side === "buy"
      ? (auction.buyFillsWh[buyOffset + flowBuys.indexOf(flow.order)] as number)
      : (auction.sellFillsWh[sellOffset + flowSells.indexOf(flow.order)] as number),
  );
  return { clearingPrice: auction.clearingPrice, zones, flowFillsWh, auction };
}

/**
 * The price range of a split zone's own auction: an exporting zone is priced no higher than the hub
 * price at which it exported too much, an importing zone no lower. The range always holds a price at
 * which the whole flow trades: at that hub price the zone's own sellers (exporting) or buyers
 * (importing) already offered more than its limit.
 */
function splitZoneBand(split: SplitZone, band: PriceBand): PriceBand {
  return split.direction === "export"
    ? { feedIn: band.feedIn, retail: split.hubPrice }
    : { feedIn: split.hubPrice, retail: band.retail };
}

/** The hub zone that breaks its limit by the most Wh (ties: lowest id), or null when all hold. */
function mostCongested(
  books: readonly ZoneBook[],
  outcomes: readonly PartFills[],
  hubPrice: number | null,
): SplitZone | null {
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
      // A zone with a net flow traded, so the hub has a price.
      worst = { book, direction: exportExcessWh > 0 ? "export" : "import", hubPrice: hubPrice as number };
      worstExcessWh = excessWh;
    }
  });
  return worst;
}
