/**
 * Ledger benchmark (issue 9: per-slot posting <= 150,000 gas for any number of households): the
 * nodes' signed slot result posted to `SlotLedger` on the embedded anvil, for communities of 10 to
 * 10,000 households — the wall time of signing and posting, and the gas the transaction used.
 * @module
 */
import { type Hex, keccak256, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startAnvil } from "../src/ledger/anvil.ts";
import { DEV_ACCOUNT_KEY, fillsTree, SlotLedger, type SlotResult } from "../src/ledger/slot-ledger.ts";
import { type BenchRow, median } from "./support.ts";

const RUNS = 5;
const GAS_BAR = 150_000;

export async function ledgerBenchmarks(): Promise<BenchRow[]> {
  const chain = await startAnvil();
  const rows: BenchRow[] = [];
  try {
    const nodes = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
    const ledger = await SlotLedger.deploy(
      chain,
      DEV_ACCOUNT_KEY,
      nodes.map((node) => node.address),
      2,
    );
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
        const signatures = await Promise.all(nodes.slice(0, 2).map((node) => ledger.sign(result, node)));
        gas.push(await ledger.post(result, signatures));
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
  } finally {
    await chain.stop();
  }
  return rows;
}
