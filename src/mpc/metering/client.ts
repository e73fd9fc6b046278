/**
 * The parties' ends of metering on running nodes: a meter sends its sealed reading to the three
 * nodes; the operator closes a slot's metering; the DSO and a supplier ask for their totals and a
 * household for its own readings, each signing its request and alone rebuilding the answer.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { type Message, readingJob } from "../jobs.ts";
import { type NodeClient, replyKey, type Signer } from "../node-client.ts";
import { PARTIES } from "../transport/types.ts";
import { type Reading, sealReading } from "./envelope.ts";
import { METER_CLOSE_PROGRAM, type MeteringClosed } from "./intake.ts";
import type { MeterTotalsPublic } from "./program.ts";

/**
 * Seals a meter's reading of `slot` and sends each node its envelope.
 * @returns null when all three nodes hold it, else each refusing node's reason.
 */
export async function sendReading(
  client: NodeClient,
  meter: { readonly id: string; readonly key: KeyObject },
  slot: string,
  reading: Reading,
): Promise<string | null> {
  const envelopes = sealReading(meter.id, slot, reading, meter.key);
  const replies = await client.exchange(
    PARTIES.map((party) => ({
      header: { type: "reading", envelope: envelopes[party] },
      body: new Uint8Array(0),
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

/** The operator closes a slot's metering: the nodes keep the readings all three hold and report the rest. */
export async function closeMetering(
  client: NodeClient,
  slot: string,
  operator: Signer,
): Promise<MeteringClosed> {
  const outcome = await client.run(METER_CLOSE_PROGRAM, { slot }, new BigUint64Array(0), {
    signer: operator,
  });
  return outcome.public as MeteringClosed;
}

/** A group's totals as its party rebuilds them; a withheld group has none. */
export interface GroupTotals {
  readonly id: string;
  readonly meters: number;
  readonly totals: { readonly importWh: number; readonly exportWh: number } | null;
}

/** The DSO's zone totals (`by: "zone"`) or a supplier's portfolio totals (`by: "supplier"`) of a slot. */
export async function meterTotals(
  client: NodeClient,
  slot: string,
  by: "zone" | "supplier",
  signer: Signer,
): Promise<GroupTotals[]> {
  const outcome = await client.run("meter-totals", { slot, by }, new BigUint64Array(0), { signer });
  const { groups } = outcome.public as MeterTotalsPublic;
  return groups.map(({ id, meters, withheld }, g) => ({
    id,
    meters,
    totals: withheld
      ? null
      : { importWh: Number(outcome.outputs[g]), exportWh: Number(outcome.outputs[groups.length + g]) },
  }));
}

/** A household's own readings of `slots`; null where its meter did not report. */
export function ownReadings(
  client: NodeClient,
  slots: readonly string[],
  household: Signer,
): Promise<(Reading | null)[]> {
  return askOwnSlots(client, "meter-readings", slots, household, (outputs, t) => ({
    importWh: Number(outputs[t]),
    exportWh: Number(outputs[slots.length + t]),
  }));
}

/**
 * A household's own figures of `slots` from a program that answers it alone and names the slots it
 * has nothing for (`{ missing }`): `pick` reads slot t's figures from the rebuilt outputs.
 */
export async function askOwnSlots<T>(
  client: NodeClient,
  program: string,
  slots: readonly string[],
  household: Signer,
  pick: (outputs: BigUint64Array, t: number) => T,
): Promise<(T | null)[]> {
  const outcome = await client.run(program, { slots: [...slots] }, new BigUint64Array(0), {
    signer: household,
  });
  const missing = new Set((outcome.public as { missing: readonly string[] }).missing);
  return slots.map((slot, t) => (missing.has(slot) ? null : pick(outcome.outputs, t)));
}
