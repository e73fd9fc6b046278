/**
 * A meter's end on running nodes: it seals each slot's reading (shares, salted digests, its
 * signature) and sends each node its part, and reads each node's answer as held, closed or refused.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { PARTIES } from "../../mpc/transport/types.ts";
import { type Reading, sealReading } from "../../private/metering/envelope.ts";
import { type ReadingRefusal, readingJob } from "../../private/metering/intake.ts";
import { type NodeClient, replyKey } from "../mpc-node/client.ts";
import type { Message } from "../mpc-node/jobs.ts";

/**
 * One node's answer to a reading: it holds it (now, or from an earlier send: a node keeps a slot's
 * first reading of a meter and refuses the same again), the slot's metering is closed there (the
 * reading came late), or it refused it for another reason (the meter may try again).
 */
export type NodeAnswer = { readonly held: true } | { readonly closed: true } | { readonly refused: string };

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
  return (await refusalsOf(client, meter, slot, reading)).map((refusal): NodeAnswer => {
    if (refusal === null || refusal.code === "held") return { held: true };
    if (refusal.code === "closed") return { closed: true };
    return { refused: refusal.reason };
  });
}

/**
 * Seals a meter's reading of `slot` and sends each node its part.
 * @returns null when all three nodes hold it, else each refusing node's reason.
 * @throws {@link JobError} when a node cannot be reached or its connection breaks.
 */
export async function sendReading(
  client: NodeClient,
  meter: { readonly id: string; readonly key: KeyObject },
  slot: string,
  reading: Reading,
): Promise<string | null> {
  const refusals = (await refusalsOf(client, meter, slot, reading)).flatMap((refusal, party) =>
    refusal === null ? [] : [`node ${party}: ${refusal.reason}`],
  );
  return refusals.length === 0 ? null : refusals.join("; ");
}

/** Each node's refusal of the sealed reading, or null where it took it. */
async function refusalsOf(
  client: NodeClient,
  meter: { readonly id: string; readonly key: KeyObject },
  slot: string,
  reading: Reading,
): Promise<(ReadingRefusal | null)[]> {
  const sealed = sealReading(meter.id, slot, reading, meter.key);
  const replies = await client.exchange(
    PARTIES.map((party) => ({
      header: { type: "reading", reading: sealed[party].header },
      body: sealed[party].body,
    })) as [Message, Message, Message],
    replyKey(readingJob(slot), meter.id),
    `reading of meter ${meter.id}`,
  );
  return replies.map(({ header }) => {
    if (header.type !== "reading") return { reason: `answered with a ${header.type}` };
    if (header.refused === null) return null;
    return { reason: header.refused, ...(header.code === undefined ? {} : { code: header.code }) };
  });
}
