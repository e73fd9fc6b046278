/**
 * `snippet audit`: replays a ledger's whole history from its events and checks every record against
 * the published board and the contract's state. Per slot and period: the board's result is the posted
 * one, field by field; its public inputs make the inputs commitment; its leaves make the posted root;
 * its signatures are the posted ones, by enough registered nodes; the aggregates are consistent. Then
 * the money: every account's deposit replayed from deposits, settlements and dispute bonds equals the
 * contract's, every settlement is a bill under its period's root plus the corrections of its upheld
 * disputes, and the nodes' flags are those the upheld disputes raised. Each problem names its record.
 * @module
 */
import { type Address, bytesToHex, getAddress, type Hex } from "viem";
import type { SlotEntry } from "./board.ts";
import type { OpenedLedger } from "./community.ts";
import type { Finding } from "./household.ts";
import type { LedgerEvent } from "./ledger.ts";
import { billLeaf } from "./lines.ts";
import { rootOf } from "./merkle.ts";
import { inputsCommitment, periodNumber, type SlotResult, slotMessage, slotSeconds } from "./slot-result.ts";

export interface AuditReport {
  readonly events: number;
  readonly slots: number;
  readonly periods: number;
  readonly disputes: { readonly upheld: number; readonly rejected: number };
  readonly settlements: number;
  readonly findings: readonly Finding[];
}

/** The result fields as the contract's event carries them. */
type PostedResult = Record<keyof SlotResult, unknown>;

export async function auditLedger(opened: OpenedLedger): Promise<AuditReport> {
  const { ledger, deployment, folder } = opened;
  const history = await ledger.history();
  const board = new Map([...folder.slots().values()].map((entry) => [slotSeconds(entry.result.slot), entry]));
  const periodLeaves = folder.periods();
  const boardPeriods = new Map(periodLeaves);
  const findings: Finding[] = [];
  const find = (record: string, problem: string) => findings.push({ record, problem });
  const nodes = new Set(deployment.nodes.map((node) => getAddress(node)));

  const replayed = new Map<Address, bigint>();
  const move = (account: Address, amount: bigint) =>
    replayed.set(getAddress(account), (replayed.get(getAddress(account)) ?? 0n) + amount);
  const flags = new Map<Address, bigint>();
  /** Corrections of upheld disputes, by `period|household`. */
  const corrections = new Map<string, bigint>();
  const periodOfSlot = new Map<bigint, string>();
  const bond = BigInt(deployment.disputeBond);
  const counts = { slots: 0, periods: 0, upheld: 0, rejected: 0, settlements: 0 };

  for (const event of history) {
    const args = event.args;
    switch (event.name) {
      case "SlotPosted": {
        counts.slots++;
        const posted = args.result as PostedResult;
        const entry = board.get(posted.slot as bigint);
        const record = `slot ${entry?.result.slot ?? new Date(Number(posted.slot) * 1000).toISOString()}`;
        if (entry === undefined) {
          find(record, "posted on the ledger, missing from the board");
          break;
        }
        board.delete(posted.slot as bigint);
        periodOfSlot.set(posted.slot as bigint, entry.result.period);
        for (const problem of await slotProblems(opened, entry, posted, event, nodes)) find(record, problem);
        break;
      }
      case "PeriodPosted": {
        counts.periods++;
        const period = formatPeriod(args.period as number);
        const entry = boardPeriods.get(period);
        if (entry === undefined) {
          find(`period ${period}`, "posted on the ledger, missing from the board");
          break;
        }
        boardPeriods.delete(period);
        if (entry.billsRoot !== args.billsRoot)
          find(
            `period ${period}`,
            `the board's bills root ${entry.billsRoot} is not the posted ${String(args.billsRoot)}`,
          );
        if (rootOf(entry.leaves) !== args.billsRoot)
          find(`period ${period}`, "the published bill leaves do not make the posted root");
        const signatures = await ledger.postingSignatures(event.transaction);
        if (!sameList(signatures, entry.signatures))
          find(`period ${period}`, "the board's signatures are not the ones posted");
        break;
      }
      case "Deposited":
        move(args.account as Address, args.amount as bigint);
        break;
      case "Withdrawn":
        move(args.account as Address, -(args.amount as bigint));
        break;
      case "DisputeUpheld": {
        counts.upheld++;
        const period = periodOfSlot.get(args.slot as bigint) ?? "?";
        const key = `${period}|${getAddress(args.household as Address)}`;
        const correction = (args.correctMoney as bigint) - (args.statedMoney as bigint);
        corrections.set(key, (corrections.get(key) ?? 0n) + correction);
        break;
      }
      case "DisputeRejected":
        counts.rejected++;
        move(args.household as Address, -bond);
        move(deployment.supplier, bond);
        break;
      case "NodeFlagged":
        flags.set(getAddress(args.node as Address), (flags.get(getAddress(args.node as Address)) ?? 0n) + 1n);
        break;
      case "Settled": {
        counts.settlements++;
        const household = getAddress(args.household as Address);
        const owed = args.money as bigint;
        const period = formatPeriod(args.period as number);
        move(household, -owed);
        move(deployment.supplier, owed);
        const bill = owed - (corrections.get(`${period}|${household}`) ?? 0n);
        const leaves = periodLeaves.get(period)?.leaves ?? [];
        const leaf = bytesToHex(billLeaf(periodNumber(period), household, bill));
        if (!leaves.includes(leaf as Hex))
          find(
            `period ${period}`,
            `the settlement of ${household} (${owed}) is no bill under the root plus its corrections`,
          );
        break;
      }
    }
  }
  for (const entry of board.values())
    find(`slot ${entry.result.slot}`, "on the board, never posted on the ledger");
  for (const period of boardPeriods.keys())
    find(`period ${period}`, "on the board, never posted on the ledger");

  for (const [account, deposit] of replayed) {
    const held = await ledger.depositOf(account);
    if (held !== deposit)
      find(`account ${account}`, `its deposit replays to ${deposit}, the ledger holds ${held}`);
  }
  for (const node of deployment.nodes) {
    const held = await ledger.flagsOf(node);
    const expected = flags.get(getAddress(node)) ?? 0n;
    if (held !== expected)
      find(`node ${node}`, `flagged ${held} times, upheld disputes flagged it ${expected}`);
  }
  const total = [...replayed.values()].reduce((sum, deposit) => sum + deposit, 0n);
  const tokens = await ledger.heldTokens();
  if (tokens !== total) find("the ledger's tokens", `it holds ${tokens}, its deposits add up to ${total}`);
  return {
    events: history.length,
    slots: counts.slots,
    periods: counts.periods,
    disputes: { upheld: counts.upheld, rejected: counts.rejected },
    settlements: counts.settlements,
    findings,
  };
}

/** A posted slot against its board entry. */
async function slotProblems(
  opened: OpenedLedger,
  entry: SlotEntry,
  posted: PostedResult,
  event: LedgerEvent,
  nodes: ReadonlySet<Address>,
): Promise<string[]> {
  const { ledger, deployment } = opened;
  const problems: string[] = [];
  const result = entry.result;
  const expected: PostedResult = slotMessage(result);
  for (const field of Object.keys(expected) as (keyof SlotResult)[]) {
    if (String(expected[field]) !== String(posted[field]))
      problems.push(
        `${field}: the board says ${String(expected[field])}, the ledger ${String(posted[field])}`,
      );
  }
  const prices = { feedIn: result.feedIn, retail: result.retail, networkFee: entry.publicInputs.networkFee };
  if (inputsCommitment(result.slot, prices, entry.publicInputs.households) !== result.inputs)
    problems.push("the published public inputs do not make the inputs commitment");
  if (entry.leaves.length !== deployment.households.length)
    problems.push(`${entry.leaves.length} lines published for ${deployment.households.length} households`);
  if (rootOf(entry.leaves) !== result.linesRoot)
    problems.push("the published lines do not make the posted root");
  const signatures = await ledger.postingSignatures(event.transaction);
  if (!sameList(signatures, entry.signatures))
    problems.push("the board's signatures are not the ones posted");
  const signers = new Set(await ledger.slotSigners(result, signatures));
  const unknown = [...signers].filter((signer) => !nodes.has(getAddress(signer)));
  if (unknown.length > 0) problems.push(`signed by ${unknown.join(", ")}, not registered nodes`);
  if (signers.size < deployment.threshold)
    problems.push(`signed by ${signers.size} nodes, the threshold is ${deployment.threshold}`);
  problems.push(...aggregateProblems(result, deployment.households.length));
  return problems;
}

/** Aggregates that cannot be true of any community. */
function aggregateProblems(result: SlotResult, households: number): string[] {
  const problems: string[] = [];
  if (
    result.clearingPrice !== null &&
    (result.clearingPrice < result.feedIn || result.clearingPrice > result.retail)
  )
    problems.push(
      `clearing price ${result.clearingPrice} outside the tariffs [${result.feedIn}, ${result.retail}]`,
    );
  if (result.sharers > households) problems.push(`${result.sharers} sharers among ${households} households`);
  if ((result.totalDeviationWh === 0) !== (result.sharers === 0))
    problems.push(`${result.sharers} sharers of a total deviation of ${result.totalDeviationWh} Wh`);
  if (result.sharers > 0 && result.sharersDeviationWh < Math.abs(result.totalDeviationWh))
    problems.push(
      `the sharers' deviations (${result.sharersDeviationWh} Wh) are less than the total (${result.totalDeviationWh} Wh)`,
    );
  return problems;
}

function sameList(a: readonly Hex[], b: readonly Hex[]): boolean {
  return a.length === b.length && a.every((item, i) => item.toLowerCase() === b[i]?.toLowerCase());
}

/** 202606 → "2026-06". */
function formatPeriod(period: number): string {
  return `${Math.floor(period / 100)}-${String(period % 100).padStart(2, "0")}`;
}
