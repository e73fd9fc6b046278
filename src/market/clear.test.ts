import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { orderBook } from "../../test/support/books.ts";
import { naiveClear } from "../../test/support/naive-clearing.ts";
import { checkProperty } from "../../test/support/property.ts";
import { clearCommunity } from "./clear.ts";
import type { ClearRequest, Order } from "./types.ts";

const book = (orders: Order[], prices = { feedIn: 500, retail: 2000 }): ClearRequest => ({
  version: 1,
  slot: "2026-06-01T12:00:00Z",
  prices,
  orders,
});

describe("clearCommunity (single zone)", () => {
  it("equals a brute-force search over the whole price grid, fills included", () => {
    checkProperty(
      fc.property(orderBook(), (request) => {
        const result = clearCommunity(request);
        const naive = naiveClear(request);
        assert.equal(result.clearingPrice, naive.clearingPrice);
        assert.equal(result.volumeWh, naive.volumeWh);
        assert.deepEqual(
          result.fills.map((fill) => fill.filledWh),
          naive.fills,
        );
      }),
      0.5,
    );
  });

  it("conserves energy, respects every order and limit, and prices inside the tariffs", () => {
    checkProperty(
      fc.property(orderBook({ maxOrders: 40, priceLevels: 6 }), (request) => {
        const result = clearCommunity(request);
        let bought = 0;
        let sold = 0;
        request.orders.forEach((order, index) => {
          const fill = result.fills[index];
          assert.equal(fill?.id, order.id);
          assert.ok(
            fill.filledWh >= 0 && fill.filledWh <= order.volumeWh,
            `fill of ${order.id} within its order`,
          );
          if (fill.filledWh === 0) return;
          assert.notEqual(result.clearingPrice, null);
          const price = result.clearingPrice as number;
          if (order.side === "buy") {
            bought += fill.filledWh;
            assert.ok(order.limitPrice >= price, `buyer ${order.id} pays at most its limit`);
          } else {
            sold += fill.filledWh;
            assert.ok(order.limitPrice <= price, `seller ${order.id} gets at least its limit`);
          }
        });
        assert.equal(bought, result.volumeWh);
        assert.equal(sold, result.volumeWh);
        if (result.clearingPrice === null) assert.equal(result.volumeWh, 0);
        else {
          assert.ok(
            result.clearingPrice >= request.prices.feedIn && result.clearingPrice <= request.prices.retail,
          );
        }
      }),
    );
  });

  it("does not depend on the order in which orders arrive", () => {
    checkProperty(
      fc.property(
        orderBook().chain((request) =>
          fc
            .shuffledSubarray([...request.orders], { minLength: request.orders.length })
            .map((shuffled) => ({ request, shuffled })),
        ),
        ({ request, shuffled }) => {
          const byId = (result: ReturnType<typeof clearCommunity>): Map<string, number> =>
            new Map(result.fills.map((fill) => [fill.id, fill.filledWh]));
          const original = clearCommunity(request);
          const reordered = clearCommunity({ ...request, orders: shuffled });
          assert.equal(reordered.clearingPrice, original.clearingPrice);
          assert.deepEqual(byId(reordered), byId(original));
        },
      ),
    );
  });

  it("hands the rationing leftover one Wh at a time to the marginal orders in ascending id order", () => {
    // V* = 2 (one seller of 2 Wh); three buyers of 1 Wh at the same price share R = 2: floor(2/3) = 0 each.
    const result = clearCommunity(
      book([
        { id: "c", side: "buy", volumeWh: 1, limitPrice: 1000 },
        { id: "a", side: "buy", volumeWh: 1, limitPrice: 1000 },
        { id: "b", side: "buy", volumeWh: 1, limitPrice: 1000 },
        { id: "s", side: "sell", volumeWh: 2, limitPrice: 600 },
      ]),
    );
    assert.deepEqual(
      result.fills.map((fill) => [fill.id, fill.filledWh]),
      [
        ["c", 0],
        ["a", 1],
        ["b", 1],
        ["s", 2],
      ],
    );
    assert.equal(result.clearingPrice, 800);
  });

  it("caps an order at its connection cap before clearing and reports the cap", () => {
    const result = clearCommunity(
      book([
        { id: "b", side: "buy", volumeWh: 5000, limitPrice: 1500, connectionCapWh: 3000 },
        { id: "s", side: "sell", volumeWh: 4000, limitPrice: 900 },
        { id: "t", side: "sell", volumeWh: 100, limitPrice: 900, connectionCapWh: 200 },
      ]),
    );
    // R = 3000 Wh over M = 4100 Wh: s gets floor(2926.8) + the leftover Wh (first id), t floor(73.2).
    assert.deepEqual(result.fills, [
      { id: "b", filledWh: 3000, cappedWh: 3000 },
      { id: "s", filledWh: 2927 },
      { id: "t", filledWh: 73 },
    ]);
  });

  it("gives no leftover Wh to an order its connection cap cut to nothing", () => {
    const result = clearCommunity(
      book([
        { id: "a", side: "buy", volumeWh: 5, limitPrice: 1000, connectionCapWh: 0 },
        { id: "b", side: "buy", volumeWh: 1, limitPrice: 1000 },
        { id: "c", side: "buy", volumeWh: 1, limitPrice: 1000 },
        { id: "s", side: "sell", volumeWh: 1, limitPrice: 600 },
      ]),
    );
    assert.deepEqual(
      result.fills.map((fill) => fill.filledWh),
      [0, 1, 0, 1],
    );
    assert.equal(result.fills[0]?.cappedWh, 0);
  });

  it("trades nothing and names no price when every buy limit is below every sell limit", () => {
    const result = clearCommunity(
      book([
        { id: "b", side: "buy", volumeWh: 100, limitPrice: 800 },
        { id: "s", side: "sell", volumeWh: 100, limitPrice: 801 },
      ]),
    );
    assert.equal(result.clearingPrice, null);
    assert.equal(result.volumeWh, 0);
  });
});
