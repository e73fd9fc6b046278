/**
 * A slot's orders on the nodes (spec/market.md stage 2 as DESIGN.md deploys it): each household's
 * device sends each node its shares of its order, which the node holds for the slot; when the
 * broker closes the slot (`clear-orders`), the three clear the orders all of them hold with the same
 * public terms with the `clear` program, and answer every household with its own fill only and the
 * broker with the public figures and the orders left out, each with its reason.
 * @module
 */

import type { Zone } from "../../market/types.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { decodeShares, encodeShares } from "../../mpc/encoding.ts";
import type { Program } from "../../mpc/programs.ts";
import { concatWords } from "../../mpc/words.ts";
import { describeError, parseWith } from "../../validation/index.ts";
import type { JobContext, Replier } from "../context.ts";
import { planClear, zonesInInputOrder } from "./encode.ts";
import {
  type CloseParams,
  type ClosePublic,
  closeParamsSchema,
  type HeldOrder,
  type LeftOut,
  ORDER_WORDS,
  type OrderIntake,
  type OrderMessage,
  orderKey,
  orderMessageSchema,
} from "./intake.ts";
import { type ClearParams, type ClearPublic, clearProgram } from "./program.ts";

/** Holds a household's order for its slot, or tells the household why not. */
export function holdOrder(
  intake: OrderIntake<Replier>,
  household: Replier,
  header: unknown,
  body: Uint8Array,
): void {
  let message: OrderMessage;
  let shares: Shared;
  try {
    message = parseWith(orderMessageSchema, header);
    shares = decodeShares(body, ORDER_WORDS, "the order's shares");
  } catch (error) {
    const job = typeof header === "object" && header !== null && "job" in header ? String(header.job) : "";
    household.send({ type: "error", job, message: `bad order: ${describeError(error)}` });
    return;
  }
  const { id, side, zone, connectionCapWh } = message.order;
  const terms = {
    id,
    side,
    ...(zone === undefined ? {} : { zone }),
    ...(connectionCapWh === undefined ? {} : { connectionCapWh }),
  };
  const { problem, dropped } = intake.add(message.job, { terms, shares, household });
  for (const order of dropped ?? []) {
    order.household.send({
      type: "error",
      job: message.job,
      order: order.terms.id,
      message: `order ${order.terms.id} was dropped: too many slots open at once`,
    });
  }
  household.send(
    problem === undefined
      ? { type: "held", job: message.job, order: id }
      : { type: "error", job: message.job, order: id, message: problem },
  );
}

/**
 * Closes a slot (the broker's `clear-orders`): clears the orders all three nodes hold with the same
 * terms, sends each household its own fill and cap flag as shares with the public figures, and gives
 * the broker the public figures and the orders left out with their reasons.
 */
export const clearOrdersProgram: Program<CloseParams, JobContext> = {
  description: "closes a slot: clears the orders the three nodes hold for it (the broker's)",
  params: closeParamsSchema,
  inputWords: () => 0,
  refuse: (_params, context) => (context.orders === undefined ? "this node holds no orders" : undefined),
  held: (_params, context) => context.orders?.keys(context.job) ?? [],
  async run(party, close, _inputs, context, agreed = new Set()) {
    const { job } = context as Required<JobContext>;
    const held = (context as Required<JobContext>).orders.take(job);
    const slot = prepareClosing(held, agreed, close);
    const result = await clearProgram
      .run(party, clearProgram.params.parse(slot.params), slot.inputs)
      .catch((error: unknown) => {
        // The households wait on their own connections: each hears that the slot failed, not silence.
        const message = `slot ${job} could not be cleared: ${describeError(error)}`;
        for (const order of held.values())
          order.household.send({ type: "error", job, order: order.terms.id, message });
        throw error;
      });
    const published = result.public as ClearPublic;
    const outputs = result.outputs as Shared;
    const figures = slot.closePublic(published);
    const { leftOut: _, ...slotFigures } = figures;
    const refused = new Set(published.refused);
    const count = slot.placed.length;
    slot.placed.forEach((order, k) => {
      // Its fill, then whether its connection cap bound: the outputs at k and count + k.
      const words = (component: BigUint64Array) =>
        BigUint64Array.of(component[k] as bigint, component[count + k] as bigint);
      order.household.send(
        { type: "fill", job, order: order.terms.id, public: { ...slotFigures, refused: refused.has(k) } },
        encodeShares({ own: words(outputs.own), next: words(outputs.next) }),
      );
    });
    for (const { id, reason } of slot.leftOut) {
      held
        .get(id)
        ?.household.send({ type: "error", job, order: id, message: `order ${id} was left out: ${reason}` });
    }
    return { public: figures };
  },
};

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
