/**
 * Validation of community order books at the boundary: the `snippet clear` input (all or nothing, as
 * spec/io.md asks) and order-by-order admission for a running market, where one bad order is
 * rejected alone and the slot clears for everyone else.
 * @module
 */
import { z } from "zod";
import { MAX_ENERGY_WH, PRICE_GRID_MAX } from "../units/index.ts";
import {
  energyField,
  idField,
  parseWith,
  positiveEnergyField,
  priceField,
  sideField,
  slotTimeField,
  ValidationError,
  type ValidationIssue,
  versionField,
} from "../validation/index.ts";
import type { ClearRequest, Order, SlotPrices } from "./types.ts";

const orderSchema = z.strictObject({
  id: idField,
  side: sideField,
  volumeWh: positiveEnergyField,
  limitPrice: priceField,
  zone: idField.optional(),
  connectionCapWh: energyField.optional(),
});

const pricesSchema = z.strictObject({ feedIn: priceField, retail: priceField });

const zoneSchema = z.strictObject({ id: idField, exportLimitWh: energyField, importLimitWh: energyField });

const bookSchema = z.strictObject({
  version: versionField,
  slot: slotTimeField,
  prices: pricesSchema,
  orders: z.array(orderSchema, { error: () => "is not a list of orders" }),
  zones: z.array(zoneSchema, { error: () => "is not a list of zones" }).optional(),
});

/** The `snippet clear` input with every check: the reference {@link wellFormedBook} is held to. */
export const clearRequestSchema = bookSchema.superRefine((request, context) => {
  for (const issue of bookIssues(request)) {
    context.addIssue({ code: "custom", path: issue.path, message: issue.message });
  }
});

interface PathIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** The checks that span fields: tariff order, limits inside the band, unique ids, zone references. */
function bookIssues(request: z.infer<typeof bookSchema>): PathIssue[] {
  const issues: PathIssue[] = [];
  const { feedIn, retail } = request.prices;
  if (feedIn > retail) {
    issues.push({ path: ["prices", "feedIn"], message: `${feedIn} is above the retail price ${retail}` });
    return issues;
  }
  const zoneIds = new Set<string>();
  request.zones?.forEach((zone, index) => {
    if (zoneIds.has(zone.id))
      issues.push({ path: ["zones", index, "id"], message: `"${zone.id}" is a duplicate zone id` });
    zoneIds.add(zone.id);
  });
  const orderIds = new Set<string>();
  request.orders.forEach((order, index) => {
    if (orderIds.has(order.id))
      issues.push({ path: ["orders", index, "id"], message: `"${order.id}" is a duplicate order id` });
    orderIds.add(order.id);
    const bandProblem = limitOutsideBand(order, request.prices);
    if (bandProblem !== null) issues.push({ path: ["orders", index, "limitPrice"], message: bandProblem });
    if (request.zones === undefined) {
      if (order.zone !== undefined) {
        issues.push({
          path: ["orders", index, "zone"],
          message: `names zone "${order.zone}" but the input has no zones`,
        });
      }
    } else if (order.zone === undefined) {
      issues.push({
        path: ["orders", index, "zone"],
        message: "is missing (every order names a zone when the input has zones)",
      });
    } else if (!zoneIds.has(order.zone)) {
      issues.push({
        path: ["orders", index, "zone"],
        message: `"${order.zone}" is not one of the input's zones`,
      });
    }
  });
  return issues;
}

/** Why an order's limit lies outside the slot's `[feedIn, retail]`, or null when it lies inside. */
function limitOutsideBand(order: Pick<Order, "limitPrice">, prices: SlotPrices): string | null {
  if (order.limitPrice < prices.feedIn)
    return `${order.limitPrice} is below the feed-in tariff ${prices.feedIn}`;
  if (order.limitPrice > prices.retail)
    return `${order.limitPrice} is above the retail price ${prices.retail}`;
  return null;
}

/**
 * Parses a `snippet clear` input, all or nothing.
 * @throws {@link ValidationError} naming the JSON path and the bound of every problem.
 */
export function parseClearRequest(value: unknown): ClearRequest {
  return wellFormedBook(value) ?? (parseWith(clearRequestSchema, value) as ClearRequest);
}

const BOOK_KEYS = new Set(["version", "slot", "prices", "orders", "zones"]);
const ORDER_KEYS = new Set(["id", "side", "volumeWh", "limitPrice", "zone", "connectionCapWh"]);

/**
 * The request itself when it is a well-formed book, checked with plain loops; undefined otherwise,
 * and the schema then names every problem. `snippet clear` reads books of 10^5 orders, where the
 * schema's per-field checks cost some 3 µs an order. It accepts only what the schema accepts, as
 * a property test checks on books with random faults.
 */
export function wellFormedBook(value: unknown): ClearRequest | undefined {
  if (!isRecord(value) || !hasOnlyKeys(value, BOOK_KEYS)) return undefined;
  const { version, slot, prices, orders, zones } = value;
  if (version !== 1 || !slotTimeField.safeParse(slot).success) return undefined;
  if (!isRecord(prices) || Object.keys(prices).length !== 2) return undefined;
  if (!isInteger(prices.feedIn, 0, PRICE_GRID_MAX) || !isInteger(prices.retail, 0, PRICE_GRID_MAX))
    return undefined;
  if (!Array.isArray(orders)) return undefined;
  for (const order of orders) {
    if (!isRecord(order) || !hasOnlyKeys(order, ORDER_KEYS)) return undefined;
    if (!isId(order.id) || (order.side !== "buy" && order.side !== "sell")) return undefined;
    if (!isInteger(order.volumeWh, 1, MAX_ENERGY_WH) || !isInteger(order.limitPrice, 0, PRICE_GRID_MAX))
      return undefined;
    if (order.zone !== undefined && !isId(order.zone)) return undefined;
    if (order.connectionCapWh !== undefined && !isInteger(order.connectionCapWh, 0, MAX_ENERGY_WH))
      return undefined;
  }
  if (zones !== undefined && !(Array.isArray(zones) && zones.every(isZone))) return undefined;
  const book = value as z.infer<typeof bookSchema>;
  return bookIssues(book).length === 0 ? (book as ClearRequest) : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasOnlyKeys(value: Record<string, unknown>, keys: ReadonlySet<string>): boolean {
  for (const key in value) if (!keys.has(key)) return false;
  return true;
}

function isInteger(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

function isId(value: unknown): boolean {
  return typeof value === "string" && value.length > 0;
}

function isZone(zone: unknown): boolean {
  return (
    isRecord(zone) &&
    Object.keys(zone).length === 3 &&
    isId(zone.id) &&
    isInteger(zone.exportLimitWh, 0, MAX_ENERGY_WH) &&
    isInteger(zone.importLimitWh, 0, MAX_ENERGY_WH)
  );
}

/** An order turned away by {@link admitOrders}, with the reasons under paths relative to the order. */
export interface RejectedOrder {
  /** Position in the submitted list. */
  readonly index: number;
  /** The order's id when it had a readable one. */
  readonly id: string | null;
  readonly issues: readonly ValidationIssue[];
}

/**
 * Admits submitted orders one by one for a running market: each valid order whose limit lies inside
 * the slot's tariffs and whose id is not taken yet is admitted; every other order is rejected alone,
 * with its reasons, so the slot still clears for everyone else.
 */
export function admitOrders(
  submitted: readonly unknown[],
  prices: SlotPrices,
): { admitted: Order[]; rejected: RejectedOrder[] } {
  const admitted: Order[] = [];
  const rejected: RejectedOrder[] = [];
  const ids = new Set<string>();
  submitted.forEach((candidate, index) => {
    const id = readableId(candidate);
    try {
      const order = parseWith(orderSchema, candidate) as Order;
      const bandProblem = limitOutsideBand(order, prices);
      if (bandProblem !== null) throw new ValidationError([{ path: "limitPrice", message: bandProblem }]);
      if (ids.has(order.id))
        throw new ValidationError([{ path: "id", message: `"${order.id}" is a duplicate order id` }]);
      ids.add(order.id);
      admitted.push(order);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      rejected.push({ index, id, issues: error.issues });
    }
  });
  return { admitted, rejected };
}

function readableId(candidate: unknown): string | null {
  if (typeof candidate !== "object" || candidate === null || !("id" in candidate)) return null;
  return typeof candidate.id === "string" ? candidate.id : null;
}
