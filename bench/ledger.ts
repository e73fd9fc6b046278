/**
 * Ledger benchmark (issue 9: per-slot posting <= 150,000 gas for any number of households, dispute
 * resolution <= 500,000 gas), on the embedded anvil: a slot's lines committed by the three nodes'
 * openings, their Merkle tree, the nodes' signatures and the posting transaction, for communities of
 * 10 to 10,000 households; a period's bills root and one settlement; an upheld and a rejected dispute.
 * @module
 */
import { type Address, keccak256, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DEV_ACCOUNT_KEY, devAccount, type EmbeddedChain, startAnvil } from "../src/ledger/anvil.ts";
import { type DisputeEvidence, type SlotResult, SnippetLedger } from "../src/ledger/ledger.ts";
import { billLeaf, LINE_FIELDS, lineLeaf, type SlotLine } from "../src/ledger/lines.ts";
import { MerkleTree } from "../src/ledger/merkle.ts";
import { LedgerNodes } from "../src/ledger/nodes.ts";
import { type BenchRow, median } from "./support.ts";

const RUNS = 5;
const SLOT_GAS_BAR = 150_000;
const DISPUTE_GAS_BAR = 500_000;
const DISPUTE_WINDOW_SECONDS = 3_600;

/** A plausible line: a household that bought 300 Wh in the community and imported 350. */
function lineOf(h: number): SlotLine {
  const line = Object.fromEntries(LINE_FIELDS.map((field) => [field, 0n])) as Record<string, bigint>;
  return {
    ...line,
    orderWh: 300n,
    limitPrice: 1800n,
    importWh: 350n + BigInt(h % 50),
    communityWh: 300n,
    boughtWh: 300n,
    commitmentMoney: 360_000n,
    billMoney: 360_000n + BigInt(h % 50) * 1500n,
  } as SlotLine;
}

/** A slot whose lines the nodes commit, sign (two of three) and post; what a dispute needs of it. */
async function postLines(
  ledger: SnippetLedger,
  nodes: LedgerNodes,
  slot: string,
  addresses: readonly Address[],
  lines: readonly SlotLine[],
): Promise<{ gas: bigint; commitMs: number; evidence: (h: number) => DisputeEvidence }> {
  const started = performance.now();
  const openings = lines.map((line, h) => nodes.openings(slot, addresses[h] as Address, line));
  const tree = new MerkleTree(openings.map((opened, h) => lineLeaf(addresses[h] as Address, opened)));
  const commitMs = performance.now() - started;
  const result: SlotResult = {
    slot,
    period: "2026-06",
    inputs: keccak256(toHex(slot)),
    clearingPrice: 1200,
    volumeWh: 50_000,
    feedIn: 500,
    retail: 2000,
    totalDeviationWh: 0,
    sharers: 0,
    sharersDeviationWh: 0,
    linesRoot: tree.root,
  };
  const signatures = await Promise.all(
    nodes.accounts.slice(0, 2).map((node) => ledger.signSlot(result, node)),
  );
  const gas = await ledger.postSlot(result, signatures);
  return {
    gas,
    commitMs,
    evidence: (h) => ({
      result,
      signatures,
      openings: openings[h] as DisputeEvidence["openings"],
      proof: tree.proof(h),
    }),
  };
}

/** `count` addresses, the first the given household's. */
function addressesOf(count: number, first: Address): Address[] {
  return Array.from({ length: count }, (_, h) =>
    h === 0 ? first : privateKeyToAccount(generatePrivateKey()).address,
  );
}

export async function ledgerBenchmarks(): Promise<BenchRow[]> {
  const chain = await startAnvil();
  const rows: BenchRow[] = [];
  try {
    const nodes = new LedgerNodes([generatePrivateKey(), generatePrivateKey(), generatePrivateKey()]);
    const household = devAccount(2);
    const ledger = await SnippetLedger.deploy(chain, DEV_ACCOUNT_KEY, {
      nodes: nodes.addresses,
      threshold: 2,
      supplier: devAccount(1).address,
      model: "ucs-uniform",
      disputeWindowSeconds: DISPUTE_WINDOW_SECONDS,
      disputeBond: 5_000_000n,
    });
    await ledger.registerHouseholds([{ household: household.address, meter: devAccount(3).address }]);
    await ledger.prepay([household.address], [50_000_000n]);
    let slotIndex = 0;
    const nextSlot = () => new Date(Date.UTC(2026, 5, 1) + slotIndex++ * 900_000).toISOString();
    for (const households of [10, 1_000, 10_000]) {
      const addresses = addressesOf(households, household.address);
      const lines = addresses.map((_, h) => lineOf(h));
      const times: number[] = [];
      const commitTimes: number[] = [];
      const gas: bigint[] = [];
      for (let run = 0; run < RUNS; run++) {
        const started = performance.now();
        const posted = await postLines(ledger, nodes, nextSlot(), addresses, lines);
        times.push(performance.now() - started);
        commitTimes.push(posted.commitMs);
        gas.push(posted.gas);
      }
      const maxGas = Math.max(...gas.map(Number));
      rows.push({
        name: "ledger: commit a slot's lines (3 nodes' openings, Merkle tree), sign and post it",
        size: `${households} households`,
        medianMs: median(times),
        minMs: Math.min(...times),
        runs: RUNS,
        note: `${maxGas} gas (bar ${SLOT_GAS_BAR}: ${maxGas <= SLOT_GAS_BAR ? "met" : "MISSED"}); lines committed in ${median(commitTimes).toFixed(0)} ms`,
      });
    }
    // Disputes over slots of 10,000 households (proofs of 14 hashes): one whose nodes billed the
    // household 1 EUR too much (upheld: correction recorded, two signers flagged), one whose bill was right.
    const addresses = addressesOf(10_000, household.address);
    // The upheld one first: its storage writes (correction, two flags) all start from zero, the dearest case.
    for (const [outcome, extraMoney] of [
      ["upheld: the bill was 1 EUR too high", 10_000_000n],
      ["rejected: the bill was right", 0n],
    ] as const) {
      const lines = addresses.map((_, h) => lineOf(h));
      lines[0] = { ...(lines[0] as SlotLine), billMoney: (lines[0] as SlotLine).billMoney + extraMoney };
      const posted = await postLines(ledger, nodes, nextSlot(), addresses, lines);
      const started = performance.now();
      const dispute = await ledger.dispute(household, posted.evidence(0));
      const ms = performance.now() - started;
      rows.push({
        name: `ledger: a household's dispute of its slot bill, recomputed on chain (${outcome})`,
        size: "10000 households",
        medianMs: ms,
        minMs: ms,
        runs: 1,
        note: `${dispute.gas} gas (bar ${DISPUTE_GAS_BAR}: ${dispute.gas <= DISPUTE_GAS_BAR ? "met" : "MISSED"})`,
      });
    }
    rows.push(await settlementRow(chain, ledger, nodes));
  } finally {
    await chain.stop();
  }
  return rows;
}

/** A period's bills root for 10,000 households posted, then one household's bill settled against its proof. */
async function settlementRow(
  chain: EmbeddedChain,
  ledger: SnippetLedger,
  nodes: LedgerNodes,
): Promise<BenchRow> {
  const payer = devAccount(4);
  const addresses = addressesOf(10_000, payer.address);
  const bills = addresses.map((_, h) => BigInt((h % 2 === 0 ? 1 : -1) * (h * 1_000 + 7)));
  const tree = new MerkleTree(addresses.map((address, h) => billLeaf(202606, address, bills[h] as bigint)));
  const postGas = await ledger.postPeriod(
    "2026-06",
    tree.root,
    await Promise.all(
      nodes.accounts.slice(0, 2).map((node) => ledger.signPeriod("2026-06", tree.root, node)),
    ),
  );
  const owed = bills[0] as bigint;
  await ledger.prepay([payer.address], [owed]);
  // The embedded chain's clock moves past the dispute window, as time would.
  await chain.advanceClock(DISPUTE_WINDOW_SECONDS + 1);
  const started = performance.now();
  const settleGas = await ledger.settle("2026-06", payer.address, owed, tree.proof(0));
  const settleMs = performance.now() - started;
  return {
    name: "ledger: settle one household's period bill against its Merkle proof",
    size: "10000 households",
    medianMs: settleMs,
    minMs: settleMs,
    runs: 1,
    note: `${settleGas} gas to settle (proof of 14 hashes); ${postGas} gas to post the period's bills root`,
  };
}
