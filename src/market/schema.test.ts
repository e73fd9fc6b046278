import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { orderBook, zonedOrderBook } from "../../test/support/books.ts";
import { checkProperty } from "../../test/support/property.ts";
import { clearCommunity } from "./clear.ts";
import { admitOrders, clearRequestSchema, wellFormedBook } from "./schema.ts";

describe("the fast path of snippet clear's input check", () => {
  it("accepts only what the schema accepts, on books with random faults", () => {
    // Mostly values at the fields' bounds, where a hand-written check would slip.
    const oddValue = fc.oneof(
      { weight: 1, arbitrary: fc.anything() },
      {
        weight: 5,
        arbitrary: fc.constantFrom(undefined, null, "", "x", "buy", "sell", "z0", "5", -1, 0, 1, 1.5),
      },
      { weight: 3, arbitrary: fc.constantFrom(65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.NaN) },
    );
    const keysOf = {
      order: ["id", "side", "volumeWh", "limitPrice", "zone", "connectionCapWh", "extra"],
      book: ["version", "slot", "orders", "zones", "extra"],
      prices: ["feedIn", "retail", "extra"],
      zone: ["id", "exportLimitWh", "importLimitWh", "extra"],
    } as const;
    const fault = fc.constantFrom("order", "book", "prices", "zone").chain((where) =>
      fc.record({
        where: fc.constant(where),
        at: fc.nat(),
        key: fc.constantFrom(...keysOf[where]),
        value: oddValue,
        remove: fc.boolean(),
      }),
    );
    const faultyBook = fc
      .tuple(fc.oneof(orderBook(), zonedOrderBook()), fc.array(fault, { maxLength: 2 }))
      .map(([request, faults]) => {
        const book = structuredClone(request) as unknown as Record<string, unknown>;
        for (const { where, at, key, value, remove } of faults) {
          const pick = (list: unknown) =>
            Array.isArray(list) && list.length > 0
              ? (list[at % list.length] as Record<string, unknown>)
              : undefined;
          const target =
            where === "book"
              ? book
              : where === "prices"
                ? (book.prices as Record<string, unknown> | undefined)
                : pick(where === "order" ? book.orders : book.zones);
          if (target === undefined) continue;
          if (remove) delete target[key];
          else target[key] = value;
        }
        return book;
      });
    checkProperty(
      fc.property(faultyBook, (book) => {
        const fast = wellFormedBook(book);
        if (fast === undefined) return;
        const checked = clearRequestSchema.safeParse(book);
        assert.ok(checked.success, "the schema accepts it too");
        assert.deepEqual(fast, checked.data);
      }),
      // Pure and cheap: ten times the suite's budget.
      10,
    );
  });
});

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
