/**
 * A household's own figures on running nodes: its readings, its slot bills while the nodes keep
 * them, and its period bills once the period is closed (a supplier asks for its customers' the same
 * way). Each request is signed, and only the asking party rebuilds the answer.
 * @module
 */
import { type BillingSlot, commitmentParts, type HouseholdSlotBill } from "../../billing/index.ts";
import type { Commitments } from "../../market/index.ts";
import type { PeriodBillsPublic } from "../../private/billing/kept-programs.ts";
import { BILL_OUTPUTS } from "../../private/billing/layout.ts";
import type { Signer } from "../../private/keys.ts";
import type { Reading } from "../../private/metering/envelope.ts";
import type { NodeClient } from "../mpc-node/client.ts";

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

/**
 * A household's own bills of `slots`, which the nodes keep after billing from the meters' readings:
 * BILL_OUTPUTS words per slot, or null where it has none (not billed yet, or no longer kept).
 */
export function ownSlotBills(
  client: NodeClient,
  slots: readonly string[],
  household: Signer,
): Promise<(BigUint64Array | null)[]> {
  const width = BILL_OUTPUTS.length;
  return askOwnSlots(client, "slot-bills", slots, household, (outputs, t) =>
    outputs.slice(t * width, (t + 1) * width),
  );
}

/**
 * A household's bill of a slot from its own bill words (as {@link ownSlotBills} gives them), its
 * commitments and the slot's public prices: what the reference bills it, deviation pool share included.
 */
export function slotBillOf(
  id: string,
  words: BigUint64Array,
  committed: Commitments,
  slot: Pick<BillingSlot, "prices" | "clearingPrice">,
): HouseholdSlotBill {
  const word = (name: BillOutput) => billWord(words, 0, name);
  return {
    id,
    deviationWh: word("deviationWh"),
    money: word("money"),
    // Its money per stage follows from its commitments alone (the reading is not read).
    ...commitmentParts({ id, committed, metered: { importWh: 0, exportWh: 0 } }, slot),
    deviationMoney: word("deviationMoney"),
    plainTariffMoney: word("plainTariffMoney"),
  };
}

/** A household's bill over a closed period, as its supplier or the household itself rebuilds it. */
export interface PeriodBill {
  readonly household: string;
  readonly money: number;
  readonly deviationWh: number;
  readonly deviationMoney: number;
  readonly plainTariffMoney: number;
}

/** A closed period's bills: a supplier's customers', or a household's own. */
export async function periodBills(client: NodeClient, period: string, signer: Signer): Promise<PeriodBill[]> {
  const outcome = await client.run("period-bills", { period }, new BigUint64Array(0), { signer });
  const { households } = outcome.public as PeriodBillsPublic;
  return households.map((household, h) => {
    const value = (name: BillOutput) => billWord(outcome.outputs, h * BILL_OUTPUTS.length, name);
    return {
      household,
      money: value("money"),
      deviationWh: value("deviationWh"),
      deviationMoney: value("deviationMoney"),
      plainTariffMoney: value("plainTariffMoney"),
    };
  });
}

type BillOutput = (typeof BILL_OUTPUTS)[number];

/** A bill's word `name` (a signed 64-bit value) of the bill at `at` in `words`. */
function billWord(words: BigUint64Array, at: number, name: BillOutput): number {
  return Number(BigInt.asIntN(64, words[at + BILL_OUTPUTS.indexOf(name)] as bigint));
}
