/**
 * A node's running period bills: per billing period, each household's sums of its slot bills, as
 * shares (adding shares is local). The operator closes a period once its last slot is billed; only
 * then may the household and its supplier ask for them (`period-bills`), so no one learns a slot's
 * bill by asking twice.
 * @module
 */
import { z } from "zod";
import { add, concat, type Shared } from "../arithmetic.ts";
import { refuseWithoutRegistry } from "../metering/program.ts";
import type { JobContext, Program } from "../programs.ts";
import { BILL_OUTPUTS } from "./program.ts";

export class PeriodTotals {
  private readonly totals = new Map<string, Map<string, Shared>>();
  private readonly closed = new Set<string>();
  private readonly billed = new Set<string>();

  /** Whether a slot's bills are in the sums already: a slot is billed once. */
  isBilled(slot: string): boolean {
    return this.billed.has(slot);
  }

  /** Marks a slot billed: its households' bills follow by {@link add}. */
  bill(slot: string): void {
    this.billed.add(slot);
  }

  /** Adds a household's slot bill words to its period's sums. */
  add(period: string, household: string, words: Shared): void {
    let households = this.totals.get(period);
    if (households === undefined) {
      households = new Map();
      this.totals.set(period, households);
    }
    const sum = households.get(household);
    households.set(household, sum === undefined ? words : add(sum, words));
  }

  close(period: string): void {
    this.closed.add(period);
  }

  isClosed(period: string): boolean {
    return this.closed.has(period);
  }

  /** A period's sums by household (empty when nothing was billed in it). */
  of(period: string): ReadonlyMap<string, Shared> {
    return this.totals.get(period) ?? new Map();
  }
}

const periodField = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: () => "is not a month YYYY-MM" });

/** The operator closes a billing period: no slot of it is billed afterwards, and its bills may be asked for. */
export const periodCloseProgram: Program<{ period: string }> = {
  description:
    "closes a billing period (a UTC month, YYYY-MM): its bills may then be asked for; operator only",
  params: z.strictObject({ period: periodField }),
  inputWords: () => 0,
  refuse: (_params, context) =>
    refuseWithoutRegistry(context) ??
    (context.requester?.role === "operator" ? undefined : "only the operator closes a billing period"),
  async run(_party, { period }, _inputs, context) {
    const { periods } = context as Required<JobContext>;
    periods.close(period);
    return { public: { period, households: periods.of(period).size } };
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
export const periodBillsProgram: Program<{ period: string }> = {
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
    return context.periods?.isClosed(period) ? undefined : `billing period ${period} is not closed`;
  },
  async run(_party, { period }, _inputs, context) {
    const { registry, periods, requester } = context as Required<JobContext>;
    const sums = periods.of(period);
    const households = [...sums.keys()].filter((household) =>
      requester.role === "household"
        ? household === requester.id
        : registry.meters.get(registry.meterOf.get(household) ?? "")?.supplier === requester.id,
    );
    const figures: PeriodBillsPublic = { period, households };
    return { public: figures, outputs: concat(households.map((household) => sums.get(household) as Shared)) };
  },
};
