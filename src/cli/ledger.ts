/**
 * The ledger's commands on a run's ledger folder (`snippet simulate --ledger`): `verify` (a household
 * checks its slots and bills), `dispute` (it files one slot's evidence), `settle` (the supplier settles
 * the periods whose dispute window closed) and `audit` (anyone replays the whole history). Each prints
 * JSON; verify and audit end with exit code 1 when they find a problem.
 * @module
 */
import { readFileSync } from "node:fs";
import type { Hex } from "viem";
import { auditLedger } from "../ledger/audit.ts";
import { type OpenedLedger, openLedger, settlePeriods } from "../ledger/community.ts";
import { disputeSlot, type OwnSlot, verifyHousehold } from "../ledger/household.ts";
import { openStore } from "../store/index.ts";
import { ValidationError } from "../validation/index.ts";

/** A check found problems; its report is already printed. */
export class FindingsReported extends Error {
  override readonly name = "FindingsReported";
}

/** How many stored slots a household's check reads at once. */
const PAGE_SLOTS = 96;

export async function runVerify(options: { ledger: string; household: string }): Promise<object> {
  return withLedger(options.ledger, false, async (opened) => {
    positionOf(opened, options.household);
    const slots = [...opened.folder.slots().values()].map((entry) => entry.index).sort((a, b) => a - b);
    const report = await verifyHousehold(
      opened,
      options.household,
      ownSlots(opened, options.household, slots),
    );
    return { ...report, ok: report.findings.length === 0 };
  });
}

export async function runDispute(options: {
  ledger: string;
  household: string;
  slot: string;
}): Promise<object> {
  return withLedger(options.ledger, true, async (opened) => {
    positionOf(opened, options.household);
    const entry = [...opened.folder.slots().values()].find(
      (candidate) => Date.parse(candidate.result.slot) === Date.parse(options.slot),
    );
    if (entry === undefined)
      throw new ValidationError([
        { path: "--slot", message: `${options.slot} is no posted slot of this ledger` },
      ]);
    let own: OwnSlot | undefined;
    for await (const slot of ownSlots(opened, options.household, [entry.index])) own = slot;
    if (own === undefined) throw new Error(`the run's store holds no slot ${options.slot}`);
    const outcome = await disputeSlot(opened, options.household, own);
    return {
      household: options.household,
      slot: entry.result.slot,
      upheld: outcome.upheld,
      statedMoney: String(outcome.statedMoney),
      ...(outcome.upheld ? { correctMoney: String(outcome.correctMoney) } : {}),
      gas: Number(outcome.gas),
    };
  });
}

export async function runSettle(options: { ledger: string; fastForward: boolean }): Promise<object> {
  return withLedger(options.ledger, true, async (opened) => ({
    periods: (await settlePeriods(opened, { fastForward: options.fastForward })).map((settlement) => ({
      ...settlement,
      gas: Number(settlement.gas),
    })),
  }));
}

export async function runAudit(options: { ledger: string }): Promise<object> {
  return withLedger(options.ledger, false, async (opened) => {
    const report = await auditLedger(opened);
    return { ...report, ok: report.findings.length === 0 };
  });
}

/** A ledger key from a file holding it as hex (for `--ledger-key`). */
export function readLedgerKey(path: string): Hex {
  const key = readFileSync(path, "utf8").trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ValidationError([
      { path: "--ledger-key", message: `${path} holds no private key (0x and 64 hex digits)` },
    ]);
  return key as Hex;
}

/** Opens the ledger folder, runs `work`, and closes it (saving the embedded chain when `writes`). */
async function withLedger<T>(
  dir: string,
  writes: boolean,
  work: (opened: OpenedLedger) => Promise<T>,
): Promise<T> {
  const opened = await openLedger(dir);
  try {
    return await work(opened);
  } finally {
    await opened.close({ save: writes });
  }
}

/** The household's position in the ledger's registry. @throws {ValidationError} when it is not registered. */
function positionOf(opened: OpenedLedger, household: string): number {
  const position = opened.deployment.households.findIndex((h) => h.id === household);
  if (position < 0)
    throw new ValidationError([
      { path: "--household", message: `${household} is not registered on this ledger` },
    ]);
  return position;
}

/** The household's own records of the given slots (by run index), from the run's store. */
async function* ownSlots(
  opened: OpenedLedger,
  household: string,
  indexes: readonly number[],
): AsyncGenerator<OwnSlot> {
  const run = opened.deployment.run;
  if (run === undefined)
    throw new Error(`${opened.folder.dir} names no run whose store holds the households' data`);
  const position = positionOf(opened, household);
  const store = await openStore(run.db, run.db);
  try {
    for (let i = 0; i < indexes.length; ) {
      const from = indexes[i] as number;
      const to = Math.min(from + PAGE_SLOTS, (indexes[indexes.length - 1] as number) + 1);
      const records = await store.readSlots(run.id, from, to);
      const byIndex = new Map(records.map((record) => [record.index, record]));
      for (; i < indexes.length && (indexes[i] as number) < to; i++) {
        const record = byIndex.get(indexes[i] as number);
        const own = record?.households[position];
        if (record !== undefined && own !== undefined) yield { record, own };
      }
    }
  } finally {
    await store.close();
  }
}
