/**
 * The orders a node holds for open slots, each household's shares with its public terms, until the
 * broker closes the slot (slot.ts); and the messages that carry them.
 * @module
 */
import { z } from "zod";
import type { ClearResult } from "../../market/types.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { energyField, idField, priceField, sideField } from "../../validation/index.ts";
import type { OrderTerms } from "./encode.ts";

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
