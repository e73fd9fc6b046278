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
import type { Side, Zone } from "./types.ts";

/** An order placed in a zone, as cleared by {@link splitMarket}. */
export interface ZonedOrder extends AuctionOrder {
  readonly side: Side;
  readonly zone: string;
}

/** Result of market splitting: fills aligned with the orders, zones aligned with the zone list. */
export interface SplitResult {
  /** The price of the uncongested part of the community (the hub). */
  readonly clearingPrice: number | null;
  readonly fillsWh: number[];
  readonly zones: { readonly clearingPrice: number | null; readonly netExportWh: number }[];
}

/** A congested zone split off from the hub, with its flow fixed at the limit it broke. */
interface SplitZone {
  readonly zone: Zone;
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
export function splitMarket(
  orders: readonly ZonedOrder[],
  zones: readonly Zone[],
  band: PriceBand,
): SplitResult {
  const ordersOf = new Map<string, number[]>(zones.map((zone) => [zone.id, []]));
  orders.forEach((order, index) => {
    ordersOf.get(order.zone)?.push(index);
  });
  const split: SplitZone[] = [];
  for (;;) {
    const fillsWh = orders.map(() => 0);
    const hubIndices = zones
      .filter((zone) => !isSplit(split, zone))
      .flatMap((zone) => ordersOf.get(zone.id) ?? []);
    const splitFlows = split.map(({ zone, direction }) =>
      flowOrder(zone.id, direction === "export" ? zone.exportLimitWh : -zone.importLimitWh),
    );
    const hub = clearPart(orders, hubIndices, splitFlows, band, fillsWh);
    const netExportWh = new Map<string, number>();
    for (const index of hubIndices) {
      const order = orders[index] as ZonedOrder;
      const signedWh = (order.side === "sell" ? 1 : -1) * (fillsWh[index] as number);
      netExportWh.set(order.zone, (netExportWh.get(order.zone) ?? 0) + signedWh);
    }
    const worst = mostCongested(zones, split, netExportWh);
    if (worst !== null) {
      split.push(worst);
      continue;
    }
    const zoneResults = zones.map((zone) => {
      const at = split.findIndex((s) => s.zone.id === zone.id);
      if (at < 0) return { clearingPrice: hub.clearingPrice, netExportWh: netExportWh.get(zone.id) ?? 0 };
      const flow = splitFlows[at] as AuctionOrder;
      const flowWh = (flow.limitPrice === BELOW_GRID ? 1 : -1) * (hub.flowFillsWh[at] as number);
      // Seen from inside the zone the flow changes side: the energy it exports is bought from it.
      const own = clearPart(
        orders,
        ordersOf.get(zone.id) ?? [],
        [flowOrder(zone.id, -flowWh)],
        band,
        fillsWh,
      );
      return { clearingPrice: own.clearingPrice, netExportWh: flowWh };
    });
    return { clearingPrice: hub.clearingPrice, fillsWh, zones: zoneResults };
  }
}

function isSplit(split: readonly SplitZone[], zone: Zone): boolean {
  return split.some((s) => s.zone.id === zone.id);
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

/**
 * Clears the orders at `indices` together with flow orders, writes those orders' fills into
 * `fillsWh`, and returns the price and the flow orders' fills (aligned with `flows`).
 */
function clearPart(
  orders: readonly ZonedOrder[],
  indices: readonly number[],
  flows: readonly AuctionOrder[],
  band: PriceBand,
  fillsWh: number[],
): { clearingPrice: number | null; flowFillsWh: number[] } {
  const buyIndices = indices.filter((index) => (orders[index] as ZonedOrder).side === "buy");
  const sellIndices = indices.filter((index) => (orders[index] as ZonedOrder).side === "sell");
  const flowBuys = flows.filter((flow) => flow.limitPrice === ABOVE_GRID);
  const flowSells = flows.filter((flow) => flow.limitPrice === BELOW_GRID);
  const auction = clearAuction(
    [...buyIndices.map((index) => orders[index] as ZonedOrder), ...flowBuys],
    [...sellIndices.map((index) => orders[index] as ZonedOrder), ...flowSells],
    band,
  );
  buyIndices.forEach((index, k) => {
    fillsWh[index] = auction.buyFillsWh[k] as number;
  });
  sellIndices.forEach((index, k) => {
    fillsWh[index] = auction.sellFillsWh[k] as number;
  });
  const flowFillsWh = flows.map((flow) =>
    flow.limitPrice === ABOVE_GRID
      ? (auction.buyFillsWh[buyIndices.length + flowBuys.indexOf(flow)] as number)
      : (auction.sellFillsWh[sellIndices.length + flowSells.indexOf(flow)] as number),
  );
  return { clearingPrice: auction.clearingPrice, flowFillsWh };
}

/** The hub zone that breaks its limit by the most Wh (ties: lowest id), or null when all hold. */
function mostCongested(
  zones: readonly Zone[],
  split: readonly SplitZone[],
  netExportWh: ReadonlyMap<string, number>,
): SplitZone | null {
  let worst: SplitZone | null = null;
  let worstExcessWh = 0;
  for (const zone of zones) {
    if (isSplit(split, zone)) continue;
    const net = netExportWh.get(zone.id) ?? 0;
    const exportExcessWh = net - zone.exportLimitWh;
    const importExcessWh = -net - zone.importLimitWh;
    const excessWh = Math.max(exportExcessWh, importExcessWh);
    const tieWon = worst !== null && excessWh === worstExcessWh && compareIds(zone.id, worst.zone.id) < 0;
    if (excessWh > worstExcessWh || (excessWh > 0 && tieWon)) {
      worst = { zone, direction: exportExcessWh > 0 ? "export" : "import" };
      worstExcessWh = excessWh;
    }
  }
  return worst;
}
