import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { slotRequest } from "../../test/support/communities.ts";
import { checkProperty } from "../../test/support/property.ts";
import type { Commitments } from "../billing/types.ts";
import { billSlot, committedTotals } from "../billing/ucs.ts";
import { matchBilateral } from "./bilateral.ts";
import { clearSlot, type SlotRequest } from "./slot.ts";

describe("bilateral stage", () => {
  it("serves a seller's partners in its priority order until its surplus runs out", () => {
    const trades = matchBilateral([
      {
        id: "alice",
        side: "sell",
        volumeWh: 1200,
        offers: [
          { partner: "hospital", price: 0, capWh: 500 },
          { partner: "bob", price: 1200, capWh: 1000 },
        ],
      },
      { id: "bob", side: "buy", volumeWh: 900, accepts: [{ partner: "alice", capWh: 2000 }] },
      { id: "hospital", side: "buy", volumeWh: 3000, accepts: [{ partner: "alice", capWh: 800 }] },
    ]);
    assert.deepEqual(trades, [
      { seller: "alice", buyer: "hospital", volumeWh: 500, price: 0 },
      { seller: "alice", buyer: "bob", volumeWh: 700, price: 1200 },
    ]);
  });

  it("trades only with consent: the buyer must accept that seller, at no more than its maximum price", () => {
    const trades = matchBilateral([
      {
        id: "alice",
        side: "sell",
        volumeWh: 1000,
        offers: [
          { partner: "bob", price: 1500, capWh: 500 },
          { partner: "carol", price: 900, capWh: 500 },
          { partner: "dave", price: 900, capWh: 500 },
        ],
      },
      { id: "bob", side: "buy", volumeWh: 500, accepts: [{ partner: "alice", capWh: 500, maxPrice: 1400 }] },
      { id: "carol", side: "buy", volumeWh: 500, accepts: [{ partner: "someone-else", capWh: 500 }] },
      { id: "dave", side: "buy", volumeWh: 500, accepts: [{ partner: "alice", capWh: 300 }] },
    ]);
    assert.deepEqual(trades, [{ seller: "alice", buyer: "dave", volumeWh: 300, price: 900 }]);
  });

  it("caps a pair at the acceptance even when the seller lists the partner twice", () => {
    const trades = matchBilateral([
      {
        id: "a",
        side: "sell",
        volumeWh: 1000,
        offers: [
          { partner: "b", price: 700, capWh: 300 },
          { partner: "b", price: 700, capWh: 300 },
        ],
      },
      { id: "b", side: "buy", volumeWh: 1000, accepts: [{ partner: "a", capWh: 400 }] },
    ]);
    assert.deepEqual(
      trades.map((trade) => trade.volumeWh),
      [300, 100],
    );
  });
});

describe("a whole slot, stages 1–3", () => {
  it("commits every household to exactly its capped order volume, on its own side only", () => {
    checkProperty(
      fc.property(slotRequest(), (request) => {
        const outcome = clearSlot(request);
        request.households.forEach((household, index) => {
          const { id, cappedWh, committed } =
            outcome.commitments[index] ?? assert.fail("missing commitments");
          assert.equal(id, household.id);
          assert.equal(
            cappedWh,
            Math.min(household.volumeWh, household.connectionCapWh ?? household.volumeWh),
          );
          const totals = committedTotals({ id, committed, metered: { importWh: 0, exportWh: 0 } });
          assert.deepEqual(
            totals,
            household.side === "buy"
              ? { importWh: cappedWh, exportWh: 0 }
              : { importWh: 0, exportWh: cappedWh },
          );
          if (household.community === false)
            assert.equal(committed.communityBuyWh + committed.communitySellWh, 0);
        });
      }),
    );
  });

  it("keeps every bilateral trade within the offer, the acceptance and both positions", () => {
    checkProperty(
      fc.property(slotRequest(), (request) => {
        const { bilateral } = clearSlot(request);
        for (const trade of bilateral) {
          const seller = request.households.find((h) => h.id === trade.seller);
          const buyer = request.households.find((h) => h.id === trade.buyer);
          assert.equal(seller?.side, "sell");
          assert.equal(buyer?.side, "buy");
          const offered = (seller.offers ?? []).filter((offer) => offer.partner === buyer.id);
          assert.ok(offered.some((offer) => offer.price === trade.price && offer.capWh >= trade.volumeWh));
          const accepted = (buyer.accepts ?? []).find((accept) => accept.partner === seller.id);
          const pairWh = bilateral
            .filter((t) => t.seller === seller.id && t.buyer === buyer.id)
            .reduce((s, t) => s + t.volumeWh, 0);
          assert.ok(accepted !== undefined && pairWh <= accepted.capWh);
        }
      }),
    );
  });
});

describe("a slot with split zones", () => {
  it("commits households of a split-off zone at their zone's price; the difference is the congestion rent", () => {
    const request: SlotRequest = {
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 500, retail: 2000 },
      zones: [
        { id: "north", exportLimitWh: 1000, importLimitWh: 1000 },
        { id: "south", exportLimitWh: 5000, importLimitWh: 5000 },
      ],
      households: [
        { id: "n1", side: "sell", volumeWh: 3000, limitPrice: 600, zone: "north" },
        { id: "n3", side: "buy", volumeWh: 500, limitPrice: 1500, zone: "north" },
        { id: "s1", side: "buy", volumeWh: 2500, limitPrice: 1600, zone: "south" },
        { id: "s3", side: "sell", volumeWh: 500, limitPrice: 1400, zone: "south" },
      ],
    };
    const outcome = clearSlot(request);
    assert.equal(outcome.community.clearingPrice, 1500);
    const byId = new Map(outcome.commitments.map((c) => [c.id, c.committed]));
    assert.equal(byId.get("n1")?.communityPrice, 825);
    assert.equal(byId.get("n1")?.communitySellWh, 1500);
    assert.equal(byId.get("s1")?.communityPrice, undefined);
    const billing = billSlot(
      {
        slot: request.slot,
        prices: { ...request.prices, networkFee: 0 },
        clearingPrice: outcome.community.clearingPrice,
        households: outcome.commitments.map(({ id, committed }) => ({
          id,
          committed,
          metered: committedAsMetered(committed),
        })),
      },
      "ucs-uniform",
    );
    // The south pays 1500 for the 1000 Wh the north sells at 825: 675,000 money units of rent.
    const rent = billing.bills.reduce((sum, bill) => sum + bill.communityMoney, 0);
    assert.equal(rent, (1500 - 825) * 1000);
  });
});

function committedAsMetered(committed: Commitments): { importWh: number; exportWh: number } {
  const totals = committedTotals({ id: "", committed, metered: { importWh: 0, exportWh: 0 } });
  return { importWh: totals.importWh, exportWh: totals.exportWh };
}
