import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dealBook, openShares, runParties } from "../../../test/support/mpc.ts";
import { encodeBook } from "../../../test/support/price-search-reference.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import {
  ABOVE_GRID,
  type AuctionOrder,
  BELOW_GRID,
  clearAuction,
  compareIds,
  type PriceBand,
} from "../../market/auction.ts";
import { clearBook } from "./auction.ts";
import { loadBook } from "./book.ts";
import { type AuctionTerms, PLAIN_AUCTION } from "./margins.ts";

const band = { feedIn: 500, retail: 2000 };

/** Clears on three in-memory parties: each side sorted by id on the way in, fills put back on the way out. */
async function clearPrivately(
  buys: AuctionOrder[],
  sells: AuctionOrder[],
  volumeBits: number,
  terms: AuctionTerms = PLAIN_AUCTION,
) {
  const byId = (side: AuctionOrder[]) =>
    side
      .map((_, i) => i)
      .sort((a, b) => compareIds((side[a] as AuctionOrder).id, (side[b] as AuctionOrder).id));
  const [buyOrder, sellOrder] = [byId(buys), byId(sells)];
  const sortedBuys = buyOrder.map((i) => buys[i] as AuctionOrder);
  const sortedSells = sellOrder.map((i) => sells[i] as AuctionOrder);
  const { inputs, bitWords } = encodeBook(sortedBuys, sortedSells);
  const dealt = dealBook(inputs, bitWords, 7);
  const results = await runParties(async (p) => {
    const { buy, sell } = await loadBook(p, dealt[p.id], buys.length, sells.length);
    return clearBook(p, buy, sell, volumeBits, terms);
  });
  const fills = [...openShares(results.map((r) => r.fills))].map(Number);
  const buyFillsWh = new Array<number>(buys.length);
  const sellFillsWh = new Array<number>(sells.length);
  buyOrder.forEach((original, k) => {
    buyFillsWh[original] = fills[k] as number;
  });
  sellOrder.forEach((original, k) => {
    sellFillsWh[original] = fills[buys.length + k] as number;
  });
  const [first] = results;
  const margin = (m: typeof first.buyMargin) =>
    m === null ? null : { price: m.price, sharedWh: Number(m.sharedWh), marginalWh: Number(m.marginalWh) };
  return {
    clearingPrice: first.clearingPrice,
    volumeWh: Number(first.volumeWh),
    buyFillsWh,
    sellFillsWh,
    buyMargin: margin(first.buyMargin),
    sellMargin: margin(first.sellMargin),
    anyPriceFillsWh: [Number(first.anyPriceBuyFillWh), Number(first.anyPriceSellFillWh)],
  };
}

/** The reference auction with a split-off zone's flow as an off-grid order, the flow's fill apart. */
function clearWithFlow(
  buys: AuctionOrder[],
  sells: AuctionOrder[],
  flow: { side: "buy" | "sell"; volumeWh: number },
  zoneBand: PriceBand,
) {
  const order = { id: "flow", volumeWh: flow.volumeWh };
  const result =
    flow.side === "buy"
      ? clearAuction([...buys, { ...order, limitPrice: ABOVE_GRID }], sells, zoneBand)
      : clearAuction(buys, [...sells, { ...order, limitPrice: BELOW_GRID }], zoneBand);
  const flowFill = (flow.side === "buy" ? result.buyFillsWh : result.sellFillsWh).pop() as number;
  return {
    ...result,
    anyPriceFillsWh: flow.side === "buy" ? [flowFill, 0] : [0, flowFill],
  };
}

describe("the community auction on secret orders", () => {
  it("equals the reference auction, fills and all, on random books with crowds at the margin", async () => {
    const side = (prefix: string) =>
      fc
        .array(
          fc.record({
            volumeWh: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 2 ** 20 - 1 })),
            limitPrice: fc.oneof(fc.constantFrom(500, 900, 901, 2000), fc.integer({ min: 500, max: 2000 })),
          }),
          { minLength: 1, maxLength: 24 },
        )
        .map((orders) => orders.map((o, i) => ({ id: `${prefix}${i}`, ...o })));
    await fc.assert(
      fc.asyncProperty(side("b"), side("s"), async (buys, sells) => {
        assert.deepEqual(await clearPrivately(buys, sells, 20), {
          ...clearAuction(buys, sells, band),
          anyPriceFillsWh: [0, 0],
        });
      }),
      propertyOptions(0.15),
    );
  });

  it("equals the reference for a split-off zone: a flow that takes any price, a band cut at the hub price", async () => {
    const side = (prefix: string) =>
      fc
        .array(
          fc.record({
            volumeWh: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3000 })),
            limitPrice: fc.oneof(fc.constantFrom(500, 900, 901, 2000), fc.integer({ min: 500, max: 2000 })),
          }),
          { maxLength: 12 },
        )
        .map((orders) => orders.map((o, i) => ({ id: `${prefix}${i}`, ...o })));
    const flow = fc.record({
      side: fc.constantFrom("buy" as const, "sell" as const),
      volumeWh: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 20000 })),
    });
    const hubPrice = fc.oneof(fc.constantFrom(500, 900, 2000), fc.integer({ min: 500, max: 2000 }));
    await fc.assert(
      fc.asyncProperty(side("b"), side("s"), flow, hubPrice, async (buys, sells, flow, price) => {
        // An exporting zone (its flow a buy) is priced at most the hub price, an importing one at least.
        const zoneBand =
          flow.side === "buy"
            ? { feedIn: band.feedIn, retail: price }
            : { feedIn: price, retail: band.retail };
        const terms: AuctionTerms = {
          band: zoneBand,
          limits: band,
          anyPriceBuyWh: flow.side === "buy" ? BigInt(flow.volumeWh) : 0n,
          anyPriceSellWh: flow.side === "sell" ? BigInt(flow.volumeWh) : 0n,
        };
        assert.deepEqual(
          await clearPrivately(buys, sells, 20, terms),
          clearWithFlow(buys, sells, flow, zoneBand),
        );
      }),
      propertyOptions(0.15),
    );
  });

  it("hands leftover Wh out in id order, not input order", async () => {
    // Three marginal buys of 1 Wh share 2 Wh: floor shares are 0, the leftover goes to "a" and "m".
    const buys = [
      { id: "z", volumeWh: 1, limitPrice: 900 },
      { id: "a", volumeWh: 1, limitPrice: 900 },
      { id: "m", volumeWh: 1, limitPrice: 900 },
    ];
    const sells = [{ id: "s", volumeWh: 2, limitPrice: 600 }];
    const result = await clearPrivately(buys, sells, 20);
    assert.deepEqual(result, { ...clearAuction(buys, sells, band), anyPriceFillsWh: [0, 0] });
    assert.deepEqual(result.buyFillsWh, [0, 1, 1], "a and m get the leftover");
  });

  it("handles volumes up to the spec's 32-bit bound", async () => {
    const big = 2 ** 32 - 1;
    const buys = [
      { id: "b1", volumeWh: big, limitPrice: 1000 },
      { id: "b2", volumeWh: big - 7, limitPrice: 1000 },
      { id: "b3", volumeWh: 12345, limitPrice: 1000 },
    ];
    const sells = [{ id: "s1", volumeWh: big, limitPrice: 700 }];
    assert.deepEqual(await clearPrivately(buys, sells, 32), {
      ...clearAuction(buys, sells, band),
      anyPriceFillsWh: [0, 0],
    });
  });
});
