/**
 * The broker's (the operator's) acts on running nodes: at gate close it has the nodes clear a slot
 * from the households' intents; a slot's metering, so they keep the readings all three hold; and a billing period, so its
 * bills may be asked for. It learns only the public figures.
 * @module
 */

import { CLEAR_SLOT_PROGRAM, type SlotClosed } from "../../private/clearing/intents.ts";
import type { Signer } from "../../private/keys.ts";
import { METER_CLOSE_PROGRAM, type MeteringClosed } from "../../private/metering/intake.ts";
import type { NodeClient } from "../mpc-node/client.ts";

/**
 * The operator closes a slot's metering: the nodes keep the readings all three hold, less those above
 * their connection's capacity, and report the missing meters and the refused readings with the reason.
 */
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

/** The operator closes a billing period: its bills may then be asked for, and no slot of it is billed again. */
export async function closePeriod(client: NodeClient, period: string, operator: Signer): Promise<void> {
  await client.run("period-close", { period }, new BigUint64Array(0), { signer: operator });
}

/**
 * At gate close, the broker has the nodes clear the whole slot from the households' intents, with the
 * slot's tariffs; it learns the public figures, which intents were refused and which left out.
 */
export async function clearSlotOnNodes(
  client: NodeClient,
  slot: string,
  prices: { readonly feedIn: number; readonly retail: number },
  operator: Signer,
): Promise<SlotClosed> {
  const outcome = await client.run(CLEAR_SLOT_PROGRAM, { slot, ...prices }, new BigUint64Array(0), {
    signer: operator,
  });
  return outcome.public as SlotClosed;
}
