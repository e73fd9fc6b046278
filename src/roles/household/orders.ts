/**
 * A household's end of a slot on running nodes: its device shares its own order and, once the broker
 * closes the slot, rebuilds its own fill (no one else can).
 * @module
 */
import type { Order } from "../../market/types.ts";
import { concat } from "../../mpc/arithmetic.ts";
import { type RandomWords, secureRandomWords, shareBitWords, shareInputs } from "../../mpc/client.ts";
import { encodeShares } from "../../mpc/encoding.ts";
import { PARTIES } from "../../mpc/transport/types.ts";
import { limitWord } from "../../private/clearing/book.ts";
import type { ClosePublic } from "../../private/clearing/intake.ts";
import { JobError, type NodeClient, type NodeReply, replyKey } from "../mpc-node/client.ts";
import type { Message } from "../mpc-node/jobs.ts";

/** What a household learns when its slot closes: its own fill, and the slot's public figures. */
export interface OrderFill {
  readonly id: string;
  readonly filledWh: number;
  /** The volume it cleared with, when the DSO's connection cap cut the order. */
  readonly cappedWh?: number;
  readonly slot: Omit<ClosePublic, "leftOut">;
}

/** An order the three nodes hold; `fill` settles when the broker closes its slot. */
export interface HeldOrder {
  readonly fill: Promise<OrderFill>;
}

/**
 * Shares a household's order for the slot `job` to the three nodes: its volume and limit leave as
 * shares, one pair per node, with its public terms (id, side, zone, connection cap). Resolves once
 * all three nodes hold it.
 * @throws {@link JobError} when a node refuses the order (a second order with its id, a malformed
 * message), naming why; `fill` rejects the same way when the slot leaves the order out.
 */
export async function submitOrder(
  client: NodeClient,
  job: string,
  order: Order,
  random: RandomWords = secureRandomWords,
): Promise<HeldOrder> {
  const volume = shareInputs(BigUint64Array.of(BigInt(order.volumeWh)), random);
  const limit = shareBitWords(BigUint64Array.of(limitWord(order.side, order.limitPrice)), random);
  const terms = {
    id: order.id,
    side: order.side,
    ...(order.zone === undefined ? {} : { zone: order.zone }),
    ...(order.connectionCapWh === undefined ? {} : { connectionCapWh: order.connectionCapWh }),
  };
  const messages = PARTIES.map((party) => ({
    header: { type: "order", job, order: terms },
    body: encodeShares(concat([volume[party], limit[party]])),
  })) as [Message, Message, Message];
  const key = replyKey(job, order.id);
  await client.exchange(messages, key, `order ${order.id}`);
  const fill = (async (): Promise<OrderFill> => {
    const replies = await client.waitForReplies(key, `order ${order.id}`);
    const [filledWh, bound] = client.rebuild(replies);
    const [first] = replies as [NodeReply];
    const figures = (first.header as { public: OrderFill["slot"] & { refused: boolean } }).public;
    if (figures.refused)
      throw new JobError(`order ${order.id} was refused: the nodes found its volume or limit out of range`);
    const { refused: _, ...slot } = figures;
    return {
      id: order.id,
      filledWh: Number(filledWh),
      ...(bound === 1n && order.connectionCapWh !== undefined ? { cappedWh: order.connectionCapWh } : {}),
      slot,
    };
  })();
  // A household that never asks for its fill must not crash the process when the slot fails.
  fill.catch(() => undefined);
  return { fill };
}
