/**
 * The ledger of a simulated run: where it runs, the bond a dispute posts and the deposits households
 * prepay, and the demonstration fault (`household@slot`: the nodes bill that household 1 EUR too
 * much in that slot) that shows a dispute being upheld.
 * @module
 */
import type { BillingModel } from "../billing/types.ts";
import { ValidationError } from "../validation/index.ts";
import { type ChainChoice, LedgerRun, type LedgerRunOptions } from "./community.ts";

/** Where the ledger runs and on what terms. */
export interface LedgerOptions extends ChainChoice {
  readonly disputeWindowSeconds: number;
  /** `household@slot`: the nodes bill that household 1 EUR too much in that slot (a dispute demonstration). */
  readonly fault?: string;
}

/** What a demonstration fault adds to a bill: 1 EUR in money units. */
const FAULT_MONEY = 10_000_000n;

/** A dispute's bond (0.50 EUR) and each deposit's prepayment (500 EUR), money units. */
const DISPUTE_BOND_MONEY = 5_000_000n;
const PREPAID_MONEY = 5_000_000_000n;

/** Deploys (or, resuming, reopens) the run's ledger. */
export async function startLedger(
  options: LedgerOptions,
  model: BillingModel,
  run: Pick<LedgerRunOptions, "dir" | "households" | "run" | "resume" | "nodeKeys">,
): Promise<LedgerRun> {
  const fault = options.fault === undefined ? undefined : parseFault(options.fault, run.households);
  return LedgerRun.start({
    ...run,
    ...(options.rpcUrl === undefined ? {} : { rpcUrl: options.rpcUrl }),
    ...(options.payerKey === undefined ? {} : { payerKey: options.payerKey }),
    model,
    disputeWindowSeconds: options.disputeWindowSeconds,
    disputeBond: DISPUTE_BOND_MONEY,
    prepaidMoney: PREPAID_MONEY,
    ...(fault === undefined
      ? {}
      : {
          corrupt: (slot, household, line) =>
            Date.parse(slot) === fault.slotMs && household === fault.household
              ? { ...line, billMoney: line.billMoney + FAULT_MONEY }
              : line,
        }),
  });
}

/** `household@slot` → the household and the slot start. */
function parseFault(text: string, households: readonly string[]): { household: string; slotMs: number } {
  const at = text.lastIndexOf("@");
  const household = text.slice(0, at);
  const slotMs = Date.parse(text.slice(at + 1));
  const problems = [];
  if (at < 0 || !households.includes(household))
    problems.push({
      path: "--ledger-fault",
      message: `"${text}" names no household of the scenario before "@"`,
    });
  if (Number.isNaN(slotMs))
    problems.push({ path: "--ledger-fault", message: `"${text}" names no slot time (ISO 8601) after "@"` });
  if (problems.length > 0) throw new ValidationError(problems);
  return { household, slotMs };
}
