/**
 * The broker (the operator) bills a slot on running nodes from what they keep — each household's
 * commitments from the slot's clearing and its meter's reading from the metering's close — once the
 * slot's metering is closed. It sends no commitment, reading or estimate: it learns the slot's public
 * figures only. Asking again for a slot already billed (a broker restarted before it stored the
 * answer) gets the same figures back.
 * @module
 */
import type { BillingModel, BillingPrices } from "../../billing/types.ts";
import type { SlotBilled } from "../../private/billing/kept.ts";
import { BILL_SLOT_PROGRAM } from "../../private/billing/slot.ts";
import type { Signer } from "../../private/keys.ts";
import type { NodeClient } from "../mpc-node/client.ts";

/**
 * Bills `slot` on the nodes with its public prices under `model`; the nodes keep every household's
 * bill and ledger line, which each household fetches for itself.
 * @returns TD, the sharers and their Σ|d|, the households billed at their estimate (no reading, or
 *   one refused as implausible) and of those the refused ones with the reason.
 * @throws {@link JobError} naming why the nodes refuse (metering not closed, another party, a closed
 *   period, other terms than the slot was billed with) or which node failed.
 */
export async function billSlotOnNodes(
  client: NodeClient,
  slot: string,
  prices: BillingPrices,
  model: BillingModel,
  operator: Signer,
): Promise<SlotBilled> {
  const { feedIn, retail, networkFee } = prices;
  const outcome = await client.run(
    BILL_SLOT_PROGRAM,
    { slot, feedIn, retail, networkFee, model },
    new BigUint64Array(0),
    { signer: operator },
  );
  return outcome.public as SlotBilled;
}
