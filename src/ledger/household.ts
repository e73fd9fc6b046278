/**
 * A household's checks of the ledger, and its disputes. `verifyHousehold` takes each posted slot, asks
 * the nodes for their openings of its line, and checks that they make the published leaf, that the
 * leaves make the posted root, and that the line says what its own data says: its order and fill,
 * its meter's reading, its commitments and what they cost, and the bill UCS gives from them and the
 * slot's public aggregates. Per period, its bill (the sum of its slot bills) must be under the posted
 * bills root. `disputeSlot` files the evidence of one slot on chain.
 * @module
 */
import { type Address, bytesToHex, type Hex, hexToBytes, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { HouseholdSlotRecord, SlotRecord } from "../billing/record.ts";
import { commitmentParts } from "../billing/ucs.ts";
import type { SlotEntry } from "./board.ts";
import type { OpenedLedger } from "./community.ts";
import type { DisputeOutcome, SignedReading } from "./ledger.ts";
import {
  billLeaf,
  LINE_FIELDS,
  lineLeaf,
  lineOf,
  type Openings,
  recomputedBill,
  type SlotLine,
  slotLineOf,
} from "./lines.ts";
import { MerkleTree, rootOf } from "./merkle.ts";
import { periodNumber } from "./slot-result.ts";

/** Something wrong in a posted record, named. */
export interface Finding {
  /** The slot or period, e.g. `slot 2026-06-01T12:00:00Z` or `period 2026-06`. */
  readonly record: string;
  readonly problem: string;
}

export interface Verification {
  readonly household: string;
  readonly slotsChecked: number;
  readonly periodsChecked: number;
  readonly findings: readonly Finding[];
}

/** The household's own record of a slot: the slot's public prices and its own row. */
export interface OwnSlot {
  readonly record: Pick<SlotRecord, "slot" | "prices" | "clearingPrice">;
  readonly own: HouseholdSlotRecord;
}

/**
 * Checks every posted slot of the household against its own data, and every posted period.
 * @param ownSlots its own records, in slot order (from its device; here the run's store).
 */
export async function verifyHousehold(
  opened: OpenedLedger,
  householdId: string,
  ownSlots: AsyncIterable<OwnSlot>,
): Promise<Verification> {
  const { index, address } = registered(opened, householdId);
  const board = opened.folder.slots();
  const findings: Finding[] = [];
  const periodBills = new Map<string, bigint>();
  let slotsChecked = 0;
  for await (const { record, own } of ownSlots) {
    const entry = board.get(record.slot);
    if (entry === undefined) {
      findings.push({
        record: `slot ${record.slot}`,
        problem: "not on the board: the nodes published nothing for it",
      });
      continue;
    }
    slotsChecked++;
    const openings = opened.nodes.openings(record.slot, address, opened.committedLine(record.slot, own));
    const line = lineOf(openings);
    const problems = [
      ...(await postedProblems(opened, entry)),
      ...leafProblems(entry, index, address, openings),
      ...lineProblems(line, expectedLine({ record, own }, entry, opened.deployment.model)),
    ];
    for (const problem of problems) findings.push({ record: `slot ${record.slot}`, problem });
    periodBills.set(entry.result.period, (periodBills.get(entry.result.period) ?? 0n) + line.billMoney);
  }
  const periods = opened.folder.periods();
  let periodsChecked = 0;
  for (const [period, bill] of periodBills) {
    const entry = periods.get(period);
    if (entry === undefined) continue;
    periodsChecked++;
    const posted = await opened.ledger.postedPeriod(period);
    const leaf = bytesToHex(billLeaf(periodNumber(period), address, bill));
    if (posted?.billsRoot !== entry.billsRoot)
      findings.push({ record: `period ${period}`, problem: "the board's bills root is not the one posted" });
    if (entry.leaves[index] !== leaf)
      findings.push({
        record: `period ${period}`,
        problem: `the bills root does not hold your bill of ${bill} money units (the sum of your slot bills)`,
      });
    if (rootOf(entry.leaves) !== entry.billsRoot)
      findings.push({
        record: `period ${period}`,
        problem: "the published bill leaves do not make the posted root",
      });
  }
  return { household: householdId, slotsChecked, periodsChecked, findings };
}

/**
 * Files the household's dispute of its bill of one slot: the nodes' openings of its line, its proof,
 * the slot's posted result and signatures, and — when the line's reading is not its meter's — its
 * meter's signed reading. On the embedded chain, the household's account is given gas first.
 */
export async function disputeSlot(
  opened: OpenedLedger,
  householdId: string,
  own: OwnSlot,
): Promise<DisputeOutcome> {
  const { index, address } = registered(opened, householdId);
  const slot = own.record.slot;
  const entry = opened.folder.slots().get(slot);
  if (entry === undefined) throw new Error(`slot ${slot} is not on the board`);
  const openings = opened.nodes.openings(slot, address, opened.committedLine(slot, own.own));
  const line = lineOf(openings);
  const metered = own.own.metered;
  let reading: SignedReading | undefined;
  if (line.importWh !== BigInt(metered.importWh) || line.exportWh !== BigInt(metered.exportWh)) {
    const meter = privateKeyToAccount(opened.keys.meters[householdId] as Hex);
    reading = await opened.ledger.signReading({ slot, ...metered }, meter);
  }
  const household = accountOf(opened, householdId);
  await opened.embedded?.fund(household.address);
  return opened.ledger.dispute(household, {
    result: entry.result,
    signatures: entry.signatures,
    openings,
    proof: new MerkleTree(entry.leaves.map((leaf) => hexToBytes(leaf))).proof(index),
    ...(reading === undefined ? {} : { reading }),
  });
}

/** The household's ledger account (its development key). */
function accountOf(opened: OpenedLedger, householdId: string): LocalAccount {
  const key = opened.keys.households[householdId];
  if (key === undefined) throw new Error(`no key for household ${householdId} in ${opened.folder.dir}`);
  return privateKeyToAccount(key as Hex);
}

/** The household's position among the registered ones and its address. */
function registered(opened: OpenedLedger, householdId: string): { index: number; address: Address } {
  const index = opened.deployment.households.findIndex((h) => h.id === householdId);
  const entry = opened.deployment.households[index];
  if (entry === undefined) throw new Error(`household ${householdId} is not registered on this ledger`);
  return { index, address: entry.address };
}

/** The board's entry against the chain: the posted struct hash must be the one of the published result. */
async function postedProblems(opened: OpenedLedger, entry: SlotEntry): Promise<string[]> {
  const posted = await opened.ledger.recordedSlot(entry.result.slot);
  if (posted === null) return ["the board lists a result the ledger never recorded"];
  return posted === opened.ledger.slotHash(entry.result) ? [] : ["the board's result is not the one posted"];
}

function leafProblems(entry: SlotEntry, index: number, address: Address, openings: Openings): string[] {
  const problems: string[] = [];
  if (entry.leaves[index] !== bytesToHex(lineLeaf(address, openings)))
    problems.push("the nodes' openings do not make your published leaf");
  if (rootOf(entry.leaves) !== entry.result.linesRoot)
    problems.push("the published leaves do not make the posted lines root");
  return problems;
}

/** What the line should say, from the household's own data and the slot's public aggregates. */
function expectedLine(own: OwnSlot, entry: SlotEntry, model: OpenedLedger["deployment"]["model"]): SlotLine {
  const line = slotLineOf(own.own);
  const parts = commitmentParts(own.own, own.record);
  const committed = line.boughtWh + line.soldWh > 0n;
  const commitmentMoney = committed
    ? BigInt(parts.communityMoney + parts.bilateralMoney + parts.supplierMoney + parts.networkFeeMoney)
    : 0n;
  const withMoney = { ...line, commitmentMoney };
  return { ...withMoney, billMoney: recomputedBill(withMoney, entry.result, model) };
}

/** Each field where the committed line differs from the household's own, named with both values. */
function lineProblems(committed: SlotLine, own: SlotLine): string[] {
  return LINE_FIELDS.filter((field) => committed[field] !== own[field]).map(
    (field) => `${field}: the ledger's line says ${committed[field]}, yours ${own[field]}`,
  );
}
