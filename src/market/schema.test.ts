import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clearCommunity } from "./clear.ts";
import { admitOrders } from "./schema.ts";

describe("admitting orders into a running market", () => {
  it("rejects each bad order alone, with its reasons, and clears the slot for the rest", () => {
    const prices = { feedIn: 500, retail: 2000 };
    const { admitted, rejected } = admitOrders(
      [
        { id: "b1", side: "buy", volumeWh: 1200, limitPrice: 1500 },
        { id: "b2", side: "buy", volumeWh: -3, limitPrice: 1500 },
        { id: "s1", side: "sell", volumeWh: 800, limitPrice: 2500 },
        "not an order",
        { id: "b1", side: "buy", volumeWh: 10, limitPrice: 1500 },
        { id: "s2", side: "sell", volumeWh: 800, limitPrice: 900 },
      ],
      prices,
    );
    assert.deepEqual(
      admitted.map((order) => order.id),
      ["b1", "s2"],
    );
    assert.deepEqual(rejected, [
      { index: 1, id: "b2", issues: [{ path: "volumeWh", message: "-3 is not a positive volume" }] },
      {
        index: 2,
        id: "s1",
        issues: [{ path: "limitPrice", message: "2500 is above the retail price 2000" }],
      },
      { index: 3, id: null, issues: [{ path: "(input)", message: "is not an object" }] },
      { index: 4, id: "b1", issues: [{ path: "id", message: '"b1" is a duplicate order id' }] },
    ]);
    const result = clearCommunity({ version: 1, slot: "2026-06-01T12:00:00Z", prices, orders: admitted });
    assert.equal(result.volumeWh, 800);
  });
});
