/**
 * What a node holds for open slots until the broker closes them: households' sealed slot intents
 * (intents.ts), and the per-order book of the community stage alone (slot.ts); and the messages
 * that carry them.
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

/** Open slots one household may hold intents for at once: a flood of junk slots stays its own. */
export const MAX_OPEN_SLOTS_PER_HOUSEHOLD = 8;

/** Slots closed, remembered so that none is cleared twice (a week of 15-minute slots). */
const CLOSED_SLOTS_KEPT = 7 * 96;

/** An intent a node holds: its shares, the signature that sealed it, and where its household waits. */
export interface HeldIntent<Reply> {
  readonly shares: Shared;
  readonly signature: string;
  readonly household: Reply;
}

/** The intents a node holds per open slot, and the slots already cleared. */
export class IntentIntake<Reply> {
  readonly #slots = new Map<string, Map<string, HeldIntent<Reply>>>();
  readonly #openOf = new Map<string, number>();
  readonly #closed = new Set<string>();

  /** Holds an intent for its slot, or says why not. */
  add(slot: string, householdId: string, held: HeldIntent<Reply>): string | undefined {
    if (this.#closed.has(slot)) return `slot ${slot} is already cleared: its gate has closed`;
    let intents = this.#slots.get(slot);
    if (intents?.has(householdId))
      return `an intent of ${householdId} for slot ${slot} is already held (a replay)`;
    const open = this.#openOf.get(householdId) ?? 0;
    if (open >= MAX_OPEN_SLOTS_PER_HOUSEHOLD)
      return `${householdId} holds intents for ${open} open slots already, the most one household may`;
    if (intents === undefined) {
      intents = new Map();
      this.#slots.set(slot, intents);
    }
    intents.set(householdId, held);
    this.#openOf.set(householdId, open + 1);
    return undefined;
  }

  /** What this node holds for a slot, as the nodes compare it: household and signature. */
  keys(slot: string): string[] {
    return [...(this.#slots.get(slot) ?? new Map<string, HeldIntent<Reply>>())].map(([id, held]) =>
      intentKey(id, held.signature),
    );
  }

  isClosed(slot: string): boolean {
    return this.#closed.has(slot);
  }

  /** Closes a slot: its intents, for clearing; no intent for it is taken afterwards. */
  close(slot: string): Map<string, HeldIntent<Reply>> {
    const intents = this.#slots.get(slot) ?? new Map<string, HeldIntent<Reply>>();
    this.#slots.delete(slot);
    for (const id of intents.keys()) this.#openOf.set(id, (this.#openOf.get(id) ?? 1) - 1);
    this.#closed.add(slot);
    for (const old of this.#closed) {
      if (this.#closed.size <= CLOSED_SLOTS_KEPT) break;
      this.#closed.delete(old);
    }
    return intents;
  }
}

export function intentKey(household: string, signature: string): string {
  return `${household} ${signature}`;
}
