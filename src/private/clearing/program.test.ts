import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { orderBook, zonedOrderBook } from "../../../test/support/books.ts";
import { dealBook, runParties } from "../../../test/support/mpc.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import { clearCommunity } from "../../market/clear.ts";
import type { ClearRequest } from "../../market/types.ts";
import { splitMarket } from "../../market/zones.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { type NodeShares, reconstruct } from "../../mpc/client.ts";
import { MAX_ENERGY_WH } from "../../units/index.ts";
import { prepareClear } from "./encode.ts";
import { type ClearParams, type ClearPublic, clearParamsSchema, clearProgram } from "./program.ts";

/** Runs the clear program on three in-memory parties; returns what they publish, the opened outputs and what each learned. */
async function runClear(params: ClearParams, inputs: BigUint64Array, bitWords: BigUint64Array) {
  const dealt = dealBook(inputs, bitWords, 11);
  const results = await runParties(async (p) => {
    p.recordDisclosures = true;
    const result = await clearProgram.run(p, clearParamsSchema.parse(params), dealt[p.id]);
    return { ...result, disclosed: p.disclosed.map((v) => [...v]) };
  });
  return {
    published: results[0].public as ClearPublic,
    outputs: reconstruct(results.map((r) => r.outputs as Shared) as NodeShares),
    disclosed: results.map((r) => r.disclosed),
  };
}

async function clearPrivately(request: ClearRequest) {
  const prepared = prepareClear(request);
  const { published, outputs } = await runClear(prepared.params, prepared.inputs, prepared.bitWords);
  return prepared.finish(published, outputs);
}

describe("the clear program", () => {
  it("equals the reference on random books with ties, crowds, huge volumes and connection caps", async () => {
    const withCaps = orderBook({ maxOrders: 10, priceLevels: 3 }).chain((request) =>
      fc
        .array(
          fc.option(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: MAX_ENERGY_WH }))),
          {
            minLength: request.orders.length,
            maxLength: request.orders.length,
          },
        )
        .map(
          (caps): ClearRequest => ({
            ...request,
            orders: request.orders.map((order, k) =>
              caps[k] === null || caps[k] === undefined
                ? order
                : { ...order, connectionCapWh: caps[k] as number },
            ),
          }),
        ),
    );
    await fc.assert(
      fc.asyncProperty(withCaps, async (request) => {
        assert.deepEqual(await clearPrivately(request), clearCommunity(request));
      }),
      propertyOptions(0.1),
    );
  });

  it("equals the reference on random zoned books: market splitting, flows at the margin, zones split in turn", async () => {
    await fc.assert(
      fc.asyncProperty(zonedOrderBook(), async (request) => {
        assert.deepEqual(await clearPrivately(request), clearCommunity(request));
      }),
      propertyOptions(0.1),
    );
  });

  it("clears an empty book, and one side alone, to no trade", async () => {
    const empty: ClearRequest = {
      version: 1,
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 500, retail: 2000 },
      orders: [],
    };
    assert.deepEqual(await clearPrivately(empty), clearCommunity(empty));
    const buysOnly: ClearRequest = {
      ...empty,
      orders: [{ id: "b", side: "buy", volumeWh: 5, limitPrice: 900 }],
    };
    assert.deepEqual(await clearPrivately(buysOnly), clearCommunity(buysOnly));
  });

  it("clears a book whose zero-priced sells outweigh all demand (no crossing on the grid)", async () => {
    const request: ClearRequest = {
      version: 1,
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 0, retail: 2000 },
      orders: [
        { id: "b", side: "buy", volumeWh: 5, limitPrice: 100 },
        { id: "s", side: "sell", volumeWh: 10, limitPrice: 0 },
      ],
    };
    assert.deepEqual(await clearPrivately(request), clearCommunity(request));
  });

  it("refuses bad orders by position inside MPC, without stopping the others", async () => {
    const good = { volumeWh: 500, limitPrice: 1500 };
    const sellGood = { volumeWh: 400, limitPrice: 700 };
    const request: ClearRequest = {
      version: 1,
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 500, retail: 2000 },
      orders: [
        { id: "b1", side: "buy", ...good },
        { id: "b2", side: "buy", ...good },
        { id: "s1", side: "sell", ...sellGood },
      ],
    };
    const prepared = prepareClear(request);
    // A client that bypasses validation: b2 sends 2^63 Wh, s2 a price below feedIn, s3 zero Wh.
    const inputs = new BigUint64Array([500n, 2n ** 63n, 400n, 300n, 0n]);
    const bitWords = new BigUint64Array([1500n, 1500n, 699n, 399n, 699n]);
    const params = { ...prepared.params, sells: 3, caps: [null, null, null, null, null] };
    const { published, outputs } = await runClear(params, inputs, bitWords);
    assert.deepEqual(published.refused, [1, 3, 4], "b2, s2 and s3 refused");
    const valid = clearCommunity({
      ...request,
      orders: [request.orders[0], request.orders[2]] as ClearRequest["orders"],
    });
    assert.equal(published.clearingPrice, valid.clearingPrice, "the rest clears as without them");
    const [b1, s1] = valid.fills.map((f) => f.filledWh);
    assert.deepEqual(
      [...outputs.slice(0, 5)].map(Number),
      [b1, 0, s1, 0, 0],
      "fills, none for refused orders",
    );
  });

  it("discloses only which orders are refused and the auction's public figures", async () => {
    const request: ClearRequest = {
      version: 1,
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 500, retail: 2000 },
      orders: [
        { id: "b1", side: "buy", volumeWh: 4, limitPrice: 900 },
        { id: "b2", side: "buy", volumeWh: 3, limitPrice: 800 },
        { id: "s1", side: "sell", volumeWh: 3, limitPrice: 700 },
        { id: "s2", side: "sell", volumeWh: 4, limitPrice: 850 },
      ],
    };
    const prepared = prepareClear(request);
    const { disclosed } = await runClear(prepared.params, prepared.inputs, prepared.bitWords);
    const reference = clearCommunity(request);
    for (const view of disclosed) {
      assert.deepEqual(view[0], [1n, 1n, 1n, 1n], "validity of each order");
      assert.deepEqual(view[1], [BigInt(reference.volumeWh)], "then V*");
      // 8 search steps of opened outcomes (base-4 digits of bm and sm − 1, plus sm ≥ 1), then R and M
      // sums: checked against the reference in margins.test.ts; here, nothing else comes after them.
      assert.equal(view.length, 1 + 1 + 8 + 1, `${view.length} disclosures`);
      assert.ok(
        view.slice(2, 10).every((step) => step.every((b) => b === 0n || b === 1n)),
        "search outcomes are bits",
      );
    }
  });

  it("discloses, with zones, only each auction's public figures, which zone splits off, and the zones' net exports", async () => {
    const hillMillPark = JSON.parse(
      readFileSync(
        new URL("../../../test/vectors/market-splitting/hill-mill-park.input.json", import.meta.url),
        "utf8",
      ),
    ) as ClearRequest;
    const books = fc.sample(zonedOrderBook(), { seed: 3, numRuns: 30 });
    for (const request of [hillMillPark, ...books]) {
      const prepared = prepareClear(request);
      const { disclosed } = await runClear(prepared.params, prepared.inputs, prepared.bitWords);
      const allowed = allowedFigures(request);
      for (const view of disclosed) {
        assert.ok(
          view.slice(1).every((values) => values.length <= 2 * (request.zones?.length ?? 0) + 7),
          "after validity, nothing as long as the book",
        );
        for (const value of view.flat()) assert.ok(allowed.has(value), `${value} is not a public figure`);
      }
    }
  });
});

/**
 * What the nodes may learn of a zoned book: 0/1 (validity, search outcomes, split decisions), and per
 * auction of the reference procedure V*, and per side V* − R (what is filled beyond the margin, less
 * a flow that takes any price) and M; each zone's net export.
 */
function allowedFigures(request: ClearRequest): Set<bigint> {
  const zones = request.zones ?? [];
  const books = zones.map((zone) => {
    const orders = request.orders.filter((order) => order.zone === zone.id);
    return {
      zone,
      buys: orders.filter((o) => o.side === "buy"),
      sells: orders.filter((o) => o.side === "sell"),
    };
  });
  const split = splitMarket(books, request.prices);
  const flows = [0, ...split.zones.map((zone) => Math.abs(zone.netExportWh))];
  const allowed = new Set<bigint>([0n, 1n]);
  const word = (value: number) => BigInt.asUintN(64, BigInt(value));
  for (const auction of split.auctions) {
    allowed.add(word(auction.volumeWh));
    for (const margin of [auction.buyMargin, auction.sellMargin]) {
      if (margin === null) continue;
      allowed.add(word(margin.marginalWh));
      for (const flow of flows) allowed.add(word(auction.volumeWh - margin.sharedWh - flow));
    }
  }
  for (const zone of split.zones) allowed.add(word(zone.netExportWh));
  return allowed;
}
