/**
 * The programs on the bills the nodes keep: the operator closes a billing period (`period-close`);
 * then a supplier asks for its customers' period bills and a household for its own
 * (`period-bills`); a household fetches its own slot bills while they are kept (`slot-bills`).
 * @module
 */
import { z } from "zod";
import { concat, type Shared } from "../../mpc/arithmetic.ts";
import { askedSlotsField, refuseWithoutRegistry } from "../access.ts";
import type { JobContext, SnippetProgram } from "../context.ts";
import { BILL_OUTPUTS } from "./layout.ts";

const periodField = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: () => "is not a month YYYY-MM" });

/** The operator closes a billing period: no slot of it is billed afterwards, and its bills may be asked for. */
export const periodCloseProgram: SnippetProgram<{ period: string }> = {
  description:
    "closes a billing period (a UTC month, YYYY-MM): its bills may then be asked for; operator only",
  params: z.strictObject({ period: periodField }),
  inputWords: () => 0,
  refuse: (_params, context) =>
    refuseWithoutRegistry(context) ??
    (context.requester?.role === "operator" ? undefined : "only the operator closes a billing period"),
  async run(_party, { period }, _inputs, context) {
    const { bills } = context as Required<JobContext>;
    bills.closePeriod(period);
    return { public: { period, households: bills.periodSums(period).size } };
  },
};

/** Which households' period bills came back, in the order of the output rows. */
export interface PeriodBillsPublic {
  readonly period: string;
  readonly households: readonly string[];
}

/**
 * A closed period's bills: to a supplier, those of every household of its portfolio; to a household,
 * its own. Out, as shares, one row per household: the sums of its slot bills' BILL_OUTPUTS.
 */
export const periodBillsProgram: SnippetProgram<{ period: string }> = {
  description:
    "a closed billing period's bills, summed from the slot bills the nodes keep: the asking supplier's " +
    `customers' or the asking household's own; out, as shares, per household: ${BILL_OUTPUTS.join(", ")}`,
  params: z.strictObject({ period: periodField }),
  inputWords: () => 0,
  refuse({ period }, context) {
    const problem = refuseWithoutRegistry(context);
    if (problem !== undefined) return problem;
    const role = context.requester?.role;
    if (role !== "supplier" && role !== "household")
      return "only a supplier or a household asks for period bills";
    return context.bills?.isClosed(period) ? undefined : `billing period ${period} is not closed`;
  },
  async run(_party, { period }, _inputs, context) {
    const { registry, bills, requester } = context as Required<JobContext>;
    const sums = bills.periodSums(period);
    const households = [...sums.keys()].filter((household) =>
      requester.role === "household"
        ? household === requester.id
        : registry.meters.get(registry.meterOf.get(household) ?? "")?.supplier === requester.id,
    );
    const figures: PeriodBillsPublic = { period, households };
    return { public: figures, outputs: concat(households.map((household) => sums.get(household) as Shared)) };
  },
};

/** Which of the asked slots have no bill of the household (not billed, or no longer kept). */
interface SlotBillsPublic {
  readonly missing: readonly string[];
}

/** A household's own slot bills, while the nodes keep them. Out, as shares, per slot: BILL_OUTPUTS. */
export const slotBillsProgram: SnippetProgram<{ slots: string[] }> = {
  description:
    "the asking household's own bills of the slots it names, while the nodes keep them; out, as shares, " +
    `per slot: ${BILL_OUTPUTS.join(", ")} (0 where missing)`,
  params: z.strictObject({ slots: askedSlotsField }),
  inputWords: () => 0,
  refuse(_params, context) {
    return (
      refuseWithoutRegistry(context) ??
      (context.requester?.role === "household" ? undefined : "only a household asks for its slot bills")
    );
  },
  async run(_party, { slots }, _inputs, context) {
    const { bills, requester } = context as Required<JobContext>;
    const width = BILL_OUTPUTS.length;
    const out = {
      own: new BigUint64Array(width * slots.length),
      next: new BigUint64Array(width * slots.length),
    };
    const missing: string[] = [];
    slots.forEach((slot, t) => {
      const bill = bills.slotBill(slot, requester.id);
      if (bill === undefined) missing.push(slot);
      else {
        out.own.set(bill.own, t * width);
        out.next.set(bill.next, t * width);
      }
    });
    const figures: SlotBillsPublic = { missing };
    return { public: figures, outputs: out };
  },
};
