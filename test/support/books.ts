/**
 * Random community order books for property tests: few price levels so that ties and marginal
 * crowds are common, occasional huge volumes so that rationing leaves the double-exact range.
 * @module
 */
import fc from "fast-check";
import type { ClearRequest, Order, Zone } from "../../src/market/types.ts";
import { MAX_ENERGY_WH } from "../../src/units/index.ts";

export interface BookShape {
  readonly maxOrders: number;
  /** How many distinct limit prices the book draws from (small: many ties). */
  readonly priceLevels: number;
}

const tariffs = fc
  .tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3000 }))
  .map(([a, b]) => ({ feedIn: Math.min(a, b), retail: Math.max(a, b) }));

const volume = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 2000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: MAX_ENERGY_WH }) },
);

/** A random valid single-zone book. */
export function orderBook(shape: BookShape = { maxOrders: 12, priceLevels: 4 }): fc.Arbitrary<ClearRequest> {
  return tariffs.chain((prices) =>
    fc
      .tuple(
        fc.array(fc.integer({ min: prices.feedIn, max: prices.retail }), {
          minLength: 1,
          maxLength: shape.priceLevels,
        }),
        fc.array(fc.record({ buy: fc.boolean(), volumeWh: volume, level: fc.nat() }), {
          maxLength: shape.maxOrders,
        }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), {
          minLength: shape.maxOrders,
          maxLength: shape.maxOrders,
        }),
      )
      .map(
        ([levels, drafts, ids]): ClearRequest => ({
          version: 1,
          slot: "2026-06-01T12:00:00Z",
          prices,
          orders: drafts.map(
            (draft, index): Order => ({
              id: ids[index] as string,
              side: draft.buy ? "buy" : "sell",
              volumeWh: draft.volumeWh,
              limitPrice: levels[draft.level % levels.length] as number,
            }),
          ),
        }),
      ),
  );
}

/** A random valid zoned book: 1–4 zones with limits from 0 to generous, every order in one of them. */
export function zonedOrderBook(
  shape: BookShape = { maxOrders: 14, priceLevels: 5 },
): fc.Arbitrary<ClearRequest> {
  return orderBook(shape).chain((book) =>
    fc
      .array(
        fc.record({
          exportLimitWh: fc.integer({ min: 0, max: 3000 }),
          importLimitWh: fc.integer({ min: 0, max: 3000 }),
        }),
        { minLength: 1, maxLength: 4 },
      )
      .chain((limits) =>
        fc
          .array(fc.nat({ max: limits.length - 1 }), {
            minLength: book.orders.length,
            maxLength: book.orders.length,
          })
          .map((zoneOf): ClearRequest => {
            const zones: Zone[] = limits.map((limit, index) => ({ id: `z${index}`, ...limit }));
            return {
              ...book,
              zones,
              orders: book.orders.map((order, index) => ({ ...order, zone: `z${zoneOf[index]}` })),
            };
          }),
      ),
  );
}
