/**
 * Orders that households share to the nodes one by one, each from its own device, for a slot a
 * broker closes later (spec/market.md stage 2 as DESIGN.md deploys it). Each node holds what it
 * received; at closing the three agree on the orders all of them hold with the same public terms,
 * clear those with the `clear` program, and answer every household with its own fill only and the
 * broker with the public figures and the orders left out, each with its reason.
 * @module
 */
import { z } from "zod";
import type { ClearResult, Zone } from "../../market/types.ts";
import { energyField, idField, priceField, sideField } from "../../validation/index.ts";
import type { Shared } from "../arithmetic.ts";
import { concatWords } from "../words.ts";
import { type OrderTerms, planClear, zonesInInputOrder } from "./client.ts";
import type { ClearParams, ClearPublic } from "./program.ts";

/** The program name a broker asks for to close a slot: its inputs are the orders the nodes hold. */
export const CLOSE_PROGRAM = "clear-orders";

/** Words a household sends each node for one order: its shares of the volume, then of the limit word (by XOR). */
export const ORDER_WORDS = 2;

/** A household's order message: the public terms; its body carries this node's shares. */
export const orderMessageSchema = z.strictObject({
  type: z.literal("order"),
  job: idField,
  order: z.strictObject({
    id: idField,
    side: sideField,
    zone: idField.optional(),
    connectionCapWh: energyField.optional(),
  }),
});
export type OrderMessage = z.infer<typeof orderMessageSchema>;

/** What the broker says when it closes a slot: the tariffs and the DSO's zones. */
export const closeParamsSchema = z.strictObject({
  feedIn: priceField,
  retail: priceField,
  zones: z
    .array(z.strictObject({ id: idField, exportLimitWh: energyField, importLimitWh: energyField }))
    .min(1, { error: "lists no zone" })
    .optional(),
});
export type CloseParams = z.infer<typeof closeParamsSchema>;

/** An order a node holds: its public terms, this node's shares and where its household waits. */
export interface HeldOrder<Reply> {
  readonly terms: OrderTerms;
  readonly shares: Shared;
  readonly household: Reply;
}

/** An order left out of the slot, and why. */
export interface LeftOut {
  readonly id: string;
  readonly reason: string;
}

/** What the broker learns when the slot closes: the public figures and the orders left out. */
export interface ClosePublic {
  readonly clearingPrice: number | null;
  readonly volumeWh: number;
  readonly zones?: ClearResult["zones"];
  readonly leftOut: LeftOut[];
}

/** The most slots a node holds orders for at once; one more and the oldest is dropped. */
const MAX_OPEN_SLOTS = 64;
/** The most orders one slot holds. */
const MAX_SLOT_ORDERS = 1_000_000;

/** The orders held per open slot, by job id, then by order id. */
export class OrderIntake<Reply> {
  readonly #slots = new Map<string, Map<string, HeldOrder<Reply>>>();

  /**
   * Holds an order for its slot; returns why not when the slot already holds that id or is full. The
   * slot dropped to make room, if any, is returned so its households can be told.
   */
  add(job: string, held: HeldOrder<Reply>): { problem?: string; dropped?: HeldOrder<Reply>[] } {
    let slot = this.#slots.get(job);
    let dropped: HeldOrder<Reply>[] | undefined;
    if (slot === undefined) {
      if (this.#slots.size >= MAX_OPEN_SLOTS) {
        const [oldest] = this.#slots.keys();
        dropped = [...this.take(oldest as string).values()];
      }
      slot = new Map();
      this.#slots.set(job, slot);
    }
    const result = dropped === undefined ? {} : { dropped };
    if (slot.has(held.terms.id))
      return { ...result, problem: `order ${held.terms.id} is already in slot ${job}` };
    if (slot.size >= MAX_SLOT_ORDERS)
      return { ...result, problem: `slot ${job} holds ${MAX_SLOT_ORDERS} orders already` };
    slot.set(held.terms.id, held);
    return result;
  }

  /** The key of every order held for a slot, which the nodes compare. */
  keys(job: string): string[] {
    return [...(this.#slots.get(job)?.values() ?? [])].map((held) => orderKey(held.terms));
  }

  /** Removes a slot's orders and returns them. */
  take(job: string): Map<string, HeldOrder<Reply>> {
    const slot = this.#slots.get(job) ?? new Map<string, HeldOrder<Reply>>();
    this.#slots.delete(job);
    return slot;
  }
}

/** An order's public terms as one string: the nodes clear an order only if all three hold the same. */
export function orderKey(terms: OrderTerms): string {
  return JSON.stringify([terms.id, terms.side, terms.zone ?? null, terms.connectionCapWh ?? null]);
}

/** The keys every node holds. */
export function agreedKeys(lists: readonly (readonly string[])[]): Set<string> {
  const [first = [], ...others] = lists;
  const sets = others.map((list) => new Set(list));
  return new Set(first.filter((key) => sets.every((set) => set.has(key))));
}

/** A closing slot as the `clear` program takes it, and how to answer once it has run. */
export interface ClosingSlot<Reply> {
  params: ClearParams;
  inputs: Shared;
  placed: HeldOrder<Reply>[];
  leftOut: LeftOut[];
  /** The broker's answer from the program's public result. */
  closePublic(published: ClearPublic): ClosePublic;
}

/**
 * Builds the `clear` job from the held orders: an order all three nodes do not hold with the same
 * terms, or whose zone the broker's zones do not list, is left out with its reason; the others go
 * in the order `planClear` gives.
 */
export function prepareClosing<Reply>(
  held: ReadonlyMap<string, HeldOrder<Reply>>,
  agreed: ReadonlySet<string>,
  close: CloseParams,
): ClosingSlot<Reply> {
  const zoneIds = new Set(close.zones?.map((zone) => zone.id));
  const leftOut: LeftOut[] = [];
  const kept: HeldOrder<Reply>[] = [];
  for (const order of held.values()) {
    const { id, zone } = order.terms;
    if (!agreed.has(orderKey(order.terms)))
      leftOut.push({ id, reason: "it did not reach all three nodes with the same terms" });
    else if (close.zones === undefined && zone !== undefined)
      leftOut.push({ id, reason: `it names zone "${zone}" but the slot has no zones` });
    else if (close.zones !== undefined && (zone === undefined || !zoneIds.has(zone)))
      leftOut.push({
        id,
        reason: zone === undefined ? "it names no zone" : `zone "${zone}" is not one of the slot's`,
      });
    else kept.push(order);
  }
  const zones: readonly Zone[] | undefined = close.zones;
  const plan = planClear(
    kept.map((order) => order.terms),
    close,
    zones,
  );
  const placed = plan.placed.map((k) => kept[k] as HeldOrder<Reply>);
  // The program's layout: every volume, then every limit word.
  const component = (which: "own" | "next", word: number) =>
    BigUint64Array.from(placed, (order) => order.shares[which][word] as bigint);
  const inputs = {
    own: concatWords([component("own", 0), component("own", 1)]),
    next: concatWords([component("next", 0), component("next", 1)]),
  };
  return {
    params: plan.params,
    inputs,
    placed,
    leftOut,
    closePublic(published) {
      const refused = published.refused.map((k) => ({
        id: (placed[k] as HeldOrder<Reply>).terms.id,
        reason: "the nodes found its volume or limit out of range",
      }));
      return {
        clearingPrice: published.clearingPrice,
        volumeWh: Number(published.volumeWh),
        ...(zones === undefined ? {} : { zones: zonesInInputOrder(zones, plan.zoneOrder, published) }),
        leftOut: [...leftOut, ...refused],
      };
    },
  };
}
