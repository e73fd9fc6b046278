import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dealBook, openShares, runParties } from "../../../test/support/mpc.ts";
import {
  encodeBook,
  type GridOrder,
  gridOrder as order,
  searchReference,
} from "../../../test/support/price-search-reference.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import { searchClearingPrice } from "./price-search.ts";

/** Runs the search on three in-memory parties and opens everything. */
async function searchOnShares(buys: GridOrder[], sells: GridOrder[], volumeBits: number) {
  const { inputs, bitWords } = encodeBook(buys, sells);
  const dealt = dealBook(inputs, bitWords, 1);
  const results = await runParties((p) =>
    searchClearingPrice(p, dealt[p.id], buys.length, sells.length, volumeBits),
  );
  const prices = new Set(results.map((r) => r.clearingPrice));
  assert.equal(prices.size, 1, "all parties find the same price");
  return {
    clearingPrice: results[0].clearingPrice,
    buyFillsWh: [...openShares(results.map((r) => r.buyFills))].map(Number),
    sellFillsWh: [...openShares(results.map((r) => r.sellFills))].map(Number),
  };
}

describe("price search on secret orders", () => {
  it("matches the plaintext search on edge books", async () => {
    const books: [string, GridOrder[], GridOrder[]][] = [
      ["one each, crossing", [order(5, 900)], [order(3, 600)]],
      ["one each, not crossing", [order(5, 500)], [order(3, 600)]],
      ["grid ends", [order(7, 65535), order(2, 0)], [order(4, 0), order(9, 65535)]],
      ["ties at one price", [order(3, 700), order(3, 700)], [order(2, 700), order(4, 700)]],
      ["a sell at price 0 and a buy at 0", [order(1, 0)], [order(1, 0)]],
    ];
    for (const [name, buys, sells] of books) {
      assert.deepEqual(await searchOnShares(buys, sells, 20), searchReference(buys, sells), name);
    }
  });

  it("matches the plaintext search on random books", async () => {
    const randomOrder = fc.record({
      volumeWh: fc.integer({ min: 1, max: 2 ** 20 }),
      limitPrice: fc.integer({ min: 0, max: 65535 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(randomOrder, { minLength: 1, maxLength: 40 }),
        fc.array(randomOrder, { minLength: 1, maxLength: 40 }),
        async (buys, sells) => {
          assert.deepEqual(await searchOnShares(buys, sells, 20), searchReference(buys, sells));
        },
      ),
      propertyOptions(0.1),
    );
  });
});
