/**
 * Slot lines for ledger tests: a billing slot's households with their reference bills, as the run's
 * records carry them.
 * @module
 */

import type { HouseholdSlotRecord } from "../../src/billing/record.ts";
import type { BillingModel, BillingSlot } from "../../src/billing/types.ts";
import { billSlot } from "../../src/billing/ucs.ts";
import { type SlotLine, slotLineOf } from "../../src/ledger/lines.ts";

/** Each household of the slot as a run records it (without a community order), billed by the reference. */
export function billedRecords(slot: BillingSlot, model: BillingModel): HouseholdSlotRecord[] {
  const { bills } = billSlot(slot, model);
  return slot.households.map((household, h) => ({
    id: household.id,
    order: null,
    committed: household.committed,
    metered: household.metered,
    bill: bills[h] as HouseholdSlotRecord["bill"],
  }));
}

/** The slot's lines, billed by the reference. */
export function billedLines(slot: BillingSlot, model: BillingModel): SlotLine[] {
  return billedRecords(slot, model).map(slotLineOf);
}
