import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { zonedOrderBook } from "../../test/support/books.ts";
import { checkProperty } from "../../test/support/property.ts";
import { clearCommunity } from "./clear.ts";
import type { ClearRequest } from "./types.ts";

const withoutZones = (request: ClearRequest): ClearRequest => {
  const { zones: _zones, ...book } = request;
  return { ...book, orders: request.orders.map(({ zone: _zone, ...order }) => order) };
};

describe("market splitting over feeder zones", () => {
  it("never exceeds a zone limit, and reports each zone's net export as its fills add up", () => {
    checkProperty(
      fc.property(zonedOrderBook(), (request) => {
        const result = clearCommunity(request);
        for (const [index, zone] of (request.zones ?? []).entries()) {
          const outcome = result.zones?.[index];
          assert.equal(outcome?.id, zone.id);
          let netExportWh = 0;
          request.orders.forEach((order, k) => {
            if (order.zone === zone.id)
              netExportWh += (order.side === "sell" ? 1 : -1) * (result.fills[k]?.filledWh ?? 0);
          });
          assert.equal(outcome.netExportWh, netExportWh, `zone ${zone.id} net export`);
          assert.ok(
            netExportWh <= zone.exportLimitWh,
            `zone ${zone.id} exports ${netExportWh} > ${zone.exportLimitWh}`,
          );
          assert.ok(
            -netExportWh <= zone.importLimitWh,
            `zone ${zone.id} imports ${-netExportWh} > ${zone.importLimitWh}`,
          );
        }
      }),
    );
  });

  it("conserves energy and fills every order only at its own zone's price or better", () => {
    checkProperty(
      fc.property(zonedOrderBook(), (request) => {
        const result = clearCommunity(request);
        const zonePrice = new Map(result.zones?.map((zone) => [zone.id, zone.clearingPrice]));
        let bought = 0;
        let sold = 0;
        request.orders.forEach((order, index) => {
          const filledWh = result.fills[index]?.filledWh ?? -1;
          assert.ok(filledWh >= 0 && filledWh <= order.volumeWh);
          if (filledWh === 0) return;
          const price = zonePrice.get(order.zone ?? "");
          assert.ok(typeof price === "number", `zone ${order.zone} has a price when its orders trade`);
          assert.ok(price >= request.prices.feedIn && price <= request.prices.retail);
          if (order.side === "buy") {
            bought += filledWh;
            assert.ok(order.limitPrice >= price);
          } else {
            sold += filledWh;
            assert.ok(order.limitPrice <= price);
          }
        });
        assert.equal(bought, result.volumeWh);
        assert.equal(sold, result.volumeWh);
      }),
    );
  });

  it("prices a split-off zone on the far side of the community price: energy flows from cheap to dear", () => {
    checkProperty(
      fc.property(zonedOrderBook(), (request) => {
        const result = clearCommunity(request);
        for (const zone of result.zones ?? []) {
          if (zone.clearingPrice === null || result.clearingPrice === null || zone.netExportWh === 0)
            continue;
          if (zone.netExportWh > 0)
            assert.ok(zone.clearingPrice <= result.clearingPrice, `exporter ${zone.id}`);
          else assert.ok(zone.clearingPrice >= result.clearingPrice, `importer ${zone.id}`);
        }
      }),
    );
  });

  it("splits a zone that exports one Wh over its limit, and not one that exports exactly its limit", () => {
    const book = (exportLimitWh: number): ClearRequest => ({
      version: 1,
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 500, retail: 2000 },
      zones: [
        { id: "a", exportLimitWh, importLimitWh: 0 },
        { id: "b", exportLimitWh: 0, importLimitWh: 5000 },
      ],
      orders: [
        { id: "s", side: "sell", volumeWh: 1000, limitPrice: 600, zone: "a" },
        { id: "d", side: "buy", volumeWh: 1000, limitPrice: 1600, zone: "b" },
      ],
    });
    const atLimit = clearCommunity(book(1000));
    assert.deepEqual(atLimit.zones, [
      { id: "a", clearingPrice: 1100, netExportWh: 1000 },
      { id: "b", clearingPrice: 1100, netExportWh: -1000 },
    ]);
    const overLimit = clearCommunity(book(999));
    // Split at 1100: a sells its 999 Wh limit at 1100 or more; b pays midpoint(1100, 1600); a is priced in [600, 1100].
    assert.deepEqual(overLimit.zones, [
      { id: "a", clearingPrice: 850, netExportWh: 999 },
      { id: "b", clearingPrice: 1350, netExportWh: -999 },
    ]);
  });

  it("splits off the zone with the lowest id first when two break their limits by the same amount", () => {
    const book = (sellerZone: string, buyerZone: string): ClearRequest => ({
      version: 1,
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 500, retail: 2000 },
      // Listed against id order, so that list order cannot stand in for the tie-break.
      zones: [
        { id: "b", exportLimitWh: 1000, importLimitWh: 1000 },
        { id: "a", exportLimitWh: 1000, importLimitWh: 1000 },
      ],
      orders: [
        { id: "s", side: "sell", volumeWh: 2000, limitPrice: 600, zone: sellerZone },
        { id: "d", side: "buy", volumeWh: 2000, limitPrice: 1600, zone: buyerZone },
      ],
    });
    // Both break a limit by 1000 Wh at the pooled price 1100, and "a" goes first: when it holds the
    // seller, the seller's zone is split off and the community price is the buyer's zone's (1350);
    // when it holds the buyer, the buyer's zone is split off and the community price is 850.
    const sellerInA = clearCommunity(book("a", "b"));
    assert.equal(sellerInA.clearingPrice, 1350);
    assert.deepEqual(sellerInA.zones, [
      { id: "b", clearingPrice: 1350, netExportWh: -1000 },
      { id: "a", clearingPrice: 850, netExportWh: 1000 },
    ]);
    const buyerInA = clearCommunity(book("b", "a"));
    assert.equal(buyerInA.clearingPrice, 850);
    assert.deepEqual(buyerInA.zones, [
      { id: "b", clearingPrice: 850, netExportWh: 1000 },
      { id: "a", clearingPrice: 1350, netExportWh: -1000 },
    ]);
  });

  it("equals the single-zone auction when no limit binds", () => {
    checkProperty(
      fc.property(zonedOrderBook(), (request) => {
        const pooled = clearCommunity(withoutZones(request));
        const binding = (request.zones ?? []).some((zone, index) => {
          let net = 0;
          request.orders.forEach((order, k) => {
            if (order.zone === zone.id)
              net += (order.side === "sell" ? 1 : -1) * (pooled.fills[k]?.filledWh ?? 0);
          });
          return index >= 0 && (net > zone.exportLimitWh || -net > zone.importLimitWh);
        });
        fc.pre(!binding);
        const zoned = clearCommunity(request);
        assert.equal(zoned.clearingPrice, pooled.clearingPrice);
        assert.deepEqual(zoned.fills, pooled.fills);
        for (const zone of zoned.zones ?? []) assert.equal(zone.clearingPrice, pooled.clearingPrice);
      }),
    );
  });

  it("gives the same result whatever order the zones are listed in", () => {
    checkProperty(
      fc.property(zonedOrderBook(), (request) => {
        const reversed = { ...request, zones: [...(request.zones ?? [])].reverse() };
        const a = clearCommunity(request);
        const b = clearCommunity(reversed);
        assert.deepEqual(b.fills, a.fills);
        assert.equal(b.clearingPrice, a.clearingPrice);
        assert.deepEqual([...(b.zones ?? [])].reverse(), a.zones);
      }),
    );
  });
});
