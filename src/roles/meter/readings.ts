/**
 * A meter's end on running nodes: it seals each slot's reading (shares, salted digests, its
 * signature) and sends each node its part.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { PARTIES } from "../../mpc/transport/types.ts";
import { type Reading, sealReading } from "../../private/metering/envelope.ts";
import { readingJob } from "../../private/metering/intake.ts";
import { type NodeClient, replyKey } from "../mpc-node/client.ts";
import type { Message } from "../mpc-node/jobs.ts";

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
  const sealed = sealReading(meter.id, slot, reading, meter.key);
  const replies = await client.exchange(
    PARTIES.map((party) => ({
      header: { type: "reading", reading: sealed[party].header },
      body: sealed[party].body,
    })) as [Message, Message, Message],
    replyKey(readingJob(slot), meter.id),
    `reading of meter ${meter.id}`,
  );
  const refusals = replies.flatMap((reply, party) =>
    reply.header.type === "reading" && reply.header.refused !== null
      ? [`node ${party}: ${reply.header.refused}`]
      : [],
  );
  return refusals.length === 0 ? null : refusals.join("; ");
}
