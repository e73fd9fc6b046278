/**
 * A meter's end on running nodes: it seals each slot's reading (shares, salted digests, its
 * signature) and sends each node its part, and reads each node's answer as held, closed or refused.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { PARTIES } from "../../mpc/transport/types.ts";
import { type Reading, sealReading } from "../../private/metering/envelope.ts";
import { readingJob } from "../../private/metering/intake.ts";
import { type NodeClient, replyKey } from "../mpc-node/client.ts";
import type { Message } from "../mpc-node/jobs.ts";

/**
 * One node's answer to a reading: it holds it (now, or from an earlier send: a node keeps a slot's
 * first reading of a meter and refuses the same again), the slot's metering is closed there (the
 * reading came late), or it refused it for another reason (the meter may try again).
 */
export type NodeAnswer = { readonly held: true } | { readonly closed: true } | { readonly refused: string };

// The node's reasons (src/private/metering/intake.ts) for a reading it already holds and for a closed slot.
const ALREADY_HELD = / already reported slot /;
const SLOT_CLOSED = / is closed: the reading came late/;

/**
 * Seals a meter's reading of `slot` and sends each node its part.
 * @returns each node's answer, by party.
 * @throws {@link JobError} when a node cannot be reached or its connection breaks.
 */
export async function deliverReading(
  client: NodeClient,
  meter: { readonly id: string; readonly key: KeyObject },
  slot: string,
  reading: Reading,
): Promise<NodeAnswer[]> {
  return (await refusalsOf(client, meter, slot, reading)).map((refused): NodeAnswer => {
    if (refused === null || ALREADY_HELD.test(refused)) return { held: true };
    if (SLOT_CLOSED.test(refused)) return { closed: true };
    return { refused };
  });
}

/**
 * Seals a meter's reading of `slot` and sends each node its part.
 * @returns null when all three nodes hold it, else each refusing node's reason.
 */
export async function sendReading(
  client: NodeClient,
  meter: { readonly id: string; readonly key: KeyObject },
  slot: string,
  reading: Reading,
): Promise<string | null> {
  const refusals = (await refusalsOf(client, meter, slot, reading)).flatMap((refused, party) =>
    refused === null ? [] : [`node ${party}: ${refused}`],
  );
  return refusals.length === 0 ? null : refusals.join("; ");
}

/** Each node's reason for refusing the sealed reading, or null where it took it. */
async function refusalsOf(
  client: NodeClient,
  meter: { readonly id: string; readonly key: KeyObject },
  slot: string,
  reading: Reading,
): Promise<(string | null)[]> {
  const sealed = sealReading(meter.id, slot, reading, meter.key);
  const replies = await client.exchange(
    PARTIES.map((party) => ({
      header: { type: "reading", reading: sealed[party].header },
      body: sealed[party].body,
    })) as [Message, Message, Message],
    replyKey(readingJob(slot), meter.id),
    `reading of meter ${meter.id}`,
  );
  return replies.map((reply) =>
    reply.header.type === "reading" ? reply.header.refused : `answered with a ${reply.header.type}`,
  );
}
