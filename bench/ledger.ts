/**
 * Ledger benchmark (issue 9: per-slot posting <= 150,000 gas for any number of households): the
 * nodes' signed slot result posted to `SnippetLedger` on the embedded anvil, for communities of 10 to
 * 10,000 households — the wall time of signing and posting, and the gas the transaction used.
 * @module
 */
import { type Hex, keccak256, type LocalAccount, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DEV_ACCOUNT_KEY, devAccount, startAnvil } from "../src/ledger/anvil.ts";
import { billsTree, fillsTree, type SlotResult, SnippetLedger } from "../src/ledger/ledger.ts";
import { type BenchRow, median } from "./support.ts";

const RUNS = 5;

const GAS_BAR = 150_000;

export async function ledgerBenchmarks(): Promise<BenchRow[]> {
  const chain = await startAnvil();
  const rows: BenchRow[] = [];
  try {
    const nodes = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
    const ledger = await SnippetLedger.deploy(chain, DEV_ACCOUNT_KEY, {
      nodes: nodes.map((node) => node.address),
      threshold: 2,
      supplier: devAccount(1).address,
    });
    let slotIndex = 0;
    for (const households of [10, 1_000, 10_000]) {
      const fills = Array.from({ length: households }, (_, h) => ({ id: `h${h}`, filledWh: (h * 37) % 900 }));
      const treeStarted = performance.now();
      const fillsRoot = fillsTree(fills).root as Hex;
      const treeMs = performance.now() - treeStarted;
      const times: number[] = [];
      const gas: bigint[] = [];
      for (let run = 0; run < RUNS; run++) {
        const slot = new Date(Date.UTC(2026, 5, 1) + slotIndex++ * 900_000).toISOString();
        const result: SlotResult = {
          slot,
          inputs: keccak256(toHex(slot)),
          clearingPrice: 1200,
          volumeWh: 50_000,
          fillsRoot,
        };
        const started = performance.now();
        const signatures = await Promise.all(nodes.slice(0, 2).map((node) => ledger.signSlot(result, node)));
        gas.push(await ledger.postSlot(result, signatures));
        times.push(performance.now() - started);
      }
      const maxGas = Math.max(...gas.map(Number));
      rows.push({
        name: "ledger: post a slot's signed result (2 of 3 node signatures checked on chain)",
        size: `${households} households`,
        medianMs: median(times),
        minMs: Math.min(...times),
        runs: RUNS,
        note: `${maxGas} gas (bar ${GAS_BAR}: ${maxGas <= GAS_BAR ? "met" : "MISSED"}); fills' Merkle tree built in ${treeMs.toFixed(0)} ms`,
      });
    }
    rows.push(await settlementRow(ledger, nodes));
  } finally {
    await chain.stop();
  }
  return rows;
}

/** A period's bills root for 10,000 households posted, then one household's bill settled against its proof. */
async function settlementRow(ledger: SnippetLedger, nodes: readonly LocalAccount[]): Promise<BenchRow> {
  // The first household is a funded development account: it pays for its own deposit.
  const households = Array.from({ length: 10_000 }, (_, h) =>
    h === 0 ? devAccount(2) : privateKeyToAccount(generatePrivateKey()),
  );
  const bills = households.map((household, h) => ({
    household: household.address,
    money: BigInt((h % 2 === 0 ? 1 : -1) * (h * 1_000 + 7)),
  }));
  const tree = billsTree(bills);
  const root = tree.root as Hex;
  const postGas = await ledger.postPeriod(
    "2026-06",
    root,
    await Promise.all(nodes.slice(0, 2).map((node) => ledger.signPeriod("2026-06", root, node))),
  );
  const payer = households[0] as LocalAccount;
  const owed = bills[0]?.money ?? 0n;
  await ledger.mint(payer.address, owed);
  await ledger.deposit(payer, owed);
  const started = performance.now();
  const settleGas = await ledger.settle("2026-06", payer.address, owed, tree.getProof(0) as Hex[]);
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
