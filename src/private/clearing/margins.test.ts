import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { dealBook, openShares, runParties } from "../../../test/support/mpc.ts";
import {
  encodeBook,
  type GridOrder,
  gridOrder as order,
} from "../../../test/support/price-search-reference.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import { clearAuction } from "../../market/auction.ts";
import { loadBook } from "./book.ts";
import { findMargins } from "./margins.ts";

const band = { feedIn: 500, retail: 2000 };

/** The margins on three in-memory parties, with every order's split opened. */
async function marginsOnShares(buys: GridOrder[], sells: GridOrder[]) {
  const { inputs, bitWords } = encodeBook(buys, sells);
  const dealt = dealBook(inputs, bitWords, 3);
  const results = await runParties(async (p) => {
    const { buy, sell } = await loadBook(p, dealt[p.id], buys.length, sells.length);
    return findMargins(p, buy, sell, 20);
  });
  const [first] = results;
  for (const r of results)
    assert.deepEqual(publicPart(r), publicPart(first), "all parties see the same figures");
  if (!("buys" in first)) return { public: publicPart(first) };
  const split = (pick: (r: typeof first) => Parameters<typeof openShares>[0][number]) =>
    [...openShares(results.map((r) => pick(r as typeof first)))].map(Number);
  return {
    public: publicPart(first),
    buyFull: split((r) => ("buys" in r ? r.buys.full : (undefined as never))),
    buyMarginal: split((r) => ("buys" in r ? r.buys.marginal : (undefined as never))),
    sellFull: split((r) => ("sells" in r ? r.sells.full : (undefined as never))),
    sellMarginal: split((r) => ("sells" in r ? r.sells.marginal : (undefined as never))),
  };
}

function publicPart(margins: Awaited<ReturnType<typeof findMargins>>) {
  if (!("buy" in margins)) return { volumeWh: 0, clearingPrice: null };
  return {
    volumeWh: Number(margins.volumeWh),
    clearingPrice: margins.clearingPrice,
    buy: {
      price: margins.buy.price,
      sharedWh: Number(margins.buy.sharedWh),
      marginalWh: Number(margins.buy.marginalWh),
    },
    sell: {
      price: margins.sell.price,
      sharedWh: Number(margins.sell.sharedWh),
      marginalWh: Number(margins.sell.marginalWh),
    },
  };
}

/** What the reference says, in the same shape. */
function expected(buys: GridOrder[], sells: GridOrder[]) {
  const ids = (prefix: string, side: GridOrder[]) => side.map((o, i) => ({ id: `${prefix}${i}`, ...o }));
  const result = clearAuction(ids("b", buys), ids("s", sells), band);
  if (result.buyMargin === null || result.sellMargin === null)
    return { public: { volumeWh: 0, clearingPrice: null } };
  const bm = result.buyMargin.price;
  const sm = result.sellMargin.price;
  return {
    public: {
      volumeWh: result.volumeWh,
      clearingPrice: result.clearingPrice,
      buy: result.buyMargin,
      sell: result.sellMargin,
    },
    buyFull: buys.map((o) => (o.limitPrice > bm ? o.volumeWh : 0)),
    buyMarginal: buys.map((o) => (o.limitPrice === bm ? o.volumeWh : 0)),
    sellFull: sells.map((o) => (o.limitPrice < sm ? o.volumeWh : 0)),
    sellMarginal: sells.map((o) => (o.limitPrice === sm ? o.volumeWh : 0)),
  };
}

describe("auction margins on secret orders", () => {
  it("equal the reference's public figures and order split on edge books", async () => {
    const books: [string, GridOrder[], GridOrder[]][] = [
      ["one each, crossing", [order(5, 900)], [order(3, 600)]],
      ["no trade", [order(5, 600)], [order(3, 900)]],
      ["a tie D(p1 + 1) = S(p1)", [order(4, 900), order(3, 800)], [order(3, 700), order(4, 850)]],
      ["a crowd at one price", [order(3, 700), order(3, 700), order(1, 700)], [order(2, 700), order(4, 700)]],
      ["band ends", [order(7, 2000), order(2, 500)], [order(4, 500), order(9, 2000)]],
    ];
    for (const [name, buys, sells] of books) {
      assert.deepEqual(await marginsOnShares(buys, sells), expected(buys, sells), name);
    }
  });

  it("equal the reference on random books, ties and crowds included", async () => {
    // Few distinct prices and volumes make ties, crowds and single price bands common.
    const randomOrder = fc.record({
      volumeWh: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 2 ** 20 })),
      limitPrice: fc.oneof(fc.constantFrom(500, 700, 701, 1200, 2000), fc.integer({ min: 500, max: 2000 })),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(randomOrder, { minLength: 1, maxLength: 25 }),
        fc.array(randomOrder, { minLength: 1, maxLength: 25 }),
        async (buys, sells) => {
          assert.deepEqual(await marginsOnShares(buys, sells), expected(buys, sells));
        },
      ),
      propertyOptions(0.15),
    );
  });
});

describe("what the nodes learn while finding the margins", () => {
  /** The disclosures the spec allows, in protocol order: V*, the search outcomes, then D(bm + 1), M, S(sm − 1), M. */
  function allowedDisclosures(buys: GridOrder[], sells: GridOrder[]): bigint[][] {
    const ids = (prefix: string, side: GridOrder[]) => side.map((o, i) => ({ id: `${prefix}${i}`, ...o }));
    const {
      volumeWh,
      buyMargin: buy,
      sellMargin: sell,
    } = clearAuction(ids("b", buys), ids("s", sells), band);
    if (buy === null || sell === null) return [[0n]];
    const below = Math.max(sell.price - 1, 0);
    const steps: bigint[][] = [];
    // Per base-4 digit: for candidates k = 1, 2, 3, whether D(c_k) < V* (k above bm's digit) and
    // whether S(c_k) < V* (k up to the digit of sm − 1); at the first digit also whether sm ≥ 1.
    for (let digit = 7; digit >= 0; digit--) {
      const buyDigit = (buy.price >> (2 * digit)) & 3;
      const sellDigit = (below >> (2 * digit)) & 3;
      const step = [
        ...[1, 2, 3].map((k) => (k > buyDigit ? 1n : 0n)),
        ...[1, 2, 3].map((k) => (k <= sellDigit ? 1n : 0n)),
      ];
      if (digit === 7) step.push(sell.price >= 1 ? 1n : 0n);
      steps.push(step);
    }
    return [
      [BigInt(volumeWh)],
      ...steps,
      [volumeWh - buy.sharedWh, buy.marginalWh, volumeWh - sell.sharedWh, sell.marginalWh].map(BigInt),
    ];
  }

  it("are only the public figures the spec allows, nothing per order", async () => {
    const books: [GridOrder[], GridOrder[]][] = [
      [
        [order(4, 900), order(3, 800)],
        [order(3, 700), order(4, 850)],
      ],
      [[order(5, 600)], [order(3, 900)]],
      [
        [order(7, 2000), order(2, 500), order(11, 1500)],
        [order(4, 500), order(9, 2000), order(5, 1499)],
      ],
    ];
    for (const [buys, sells] of books) {
      const { inputs, bitWords } = encodeBook(buys, sells);
      const dealt = dealBook(inputs, bitWords, 5);
      const views = await runParties(async (p) => {
        p.recordDisclosures = true;
        const { buy, sell } = await loadBook(p, dealt[p.id], buys.length, sells.length);
        await findMargins(p, buy, sell, 20);
        return p.disclosed.map((values) => [...values]);
      });
      for (const view of views) assert.deepEqual(view, allowedDisclosures(buys, sells), "disclosed values");
    }
  });
});
