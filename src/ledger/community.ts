/**
 * A community's ledger as a run drives it: deployed with its registry (nodes, supplier, households and
 * their meters) and prepaid deposits, then every slot posted — the nodes' openings of each household's
 * line, the lines' Merkle root, the public result signed by the nodes — and every billing period's
 * bills root. The folder keeps the deployment, the public board, the supplier's period bills (to
 * settle them) and, for the embedded chain, the chain itself, so `snippet verify`, `dispute`, `settle`
 * and `audit` work on it afterwards.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Address, bytesToHex, type Hex, hexToBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { billingPeriodOf } from "../billing/period.ts";
import type { HouseholdSlotRecord, SlotRecord } from "../billing/record.ts";
import type { BillingModel } from "../billing/types.ts";
import { DEV_ACCOUNT_KEY, type EmbeddedChain, jsonRpc, startAnvil } from "./anvil.ts";
import {
  type Deployment,
  type DeploymentKeys,
  LedgerFolder,
  type PeriodEntry,
  type SlotEntry,
} from "./board.ts";
import { SnippetLedger } from "./ledger.ts";
import { aggregatesOf, billLeaf, lineLeaf, type SlotLine, slotLineOf } from "./lines.ts";
import { MerkleTree } from "./merkle.ts";
import { LedgerNodes } from "./nodes.ts";
import { inputsCommitment, periodNumber, type SlotResult } from "./slot-result.ts";

/** Which chain: the embedded anvil (default), or any JSON-RPC endpoint with a funded key. */
export interface ChainChoice {
  readonly rpcUrl?: string;
  /** Pays for the transactions, operates the ledger and issues the token (required with `rpcUrl`). */
  readonly payerKey?: Hex;
}

export interface LedgerRunOptions extends ChainChoice {
  readonly dir: string;
  /** The community's households, in the order the run's records list them. */
  readonly households: readonly string[];
  readonly model: BillingModel;
  readonly disputeWindowSeconds: number;
  readonly disputeBond: bigint;
  /** What each household, and the supplier per household, prepays into its deposit, money units. */
  readonly prepaidMoney: bigint;
  /** The run whose store keeps the households' own data. */
  readonly run: { readonly db: string; readonly id: string };
  /** The MPC nodes' ledger signing keys (`node-config`); fresh ones without. */
  readonly nodeKeys?: readonly Hex[];
  /** Continue the folder's ledger (a resumed run) instead of deploying a new one. */
  readonly resume: boolean;
  /**
   * A fault to inject, for tests and demonstrations of disputes: what the nodes commit in place of a
   * household's true line.
   */
  readonly corrupt?: (slot: string, household: string, line: SlotLine) => SlotLine;
}

/** An opened ledger folder: the contract client, its deployment and keys, and the chain. */
export interface OpenedLedger {
  readonly folder: LedgerFolder;
  readonly deployment: Deployment;
  readonly keys: DeploymentKeys;
  readonly ledger: SnippetLedger;
  readonly nodes: LedgerNodes;
  /** The embedded chain, when the ledger lives on one. */
  readonly embedded: EmbeddedChain | undefined;
  /**
   * The line the nodes committed for a household in a slot: its true line, unless the run injected a
   * fault there. (A simulation's nodes keep no shares after the run; they rebuild them from this.)
   */
  committedLine(slot: string, own: HouseholdSlotRecord): SlotLine;
  /** Saves the embedded chain (when `save`) and stops it. */
  close(options: { save: boolean }): Promise<void>;
}

/** Opens a ledger folder: starts its embedded chain from `chain.json`, or connects to its RPC URL. */
export async function openLedger(dir: string, payerKey?: Hex): Promise<OpenedLedger> {
  const folder = new LedgerFolder(dir);
  const deployment = folder.deployment();
  const keys = folder.keys();
  const embedded =
    deployment.rpcUrl === null ? await startAnvil({ resumeFrom: folder.chainPath }) : undefined;
  const endpoint = embedded ?? { url: deployment.rpcUrl as string, chainId: deployment.chainId };
  const faults = folder.faults();
  const ledger = SnippetLedger.at(endpoint, payerKey ?? keys.payer, {
    ledger: deployment.ledger,
    token: deployment.token,
  });
  return {
    folder,
    deployment,
    keys,
    ledger,
    nodes: new LedgerNodes(keys.nodes as Hex[]),
    embedded,
    committedLine: (slot, own) => faults.get(`${slot}|${own.id}`) ?? slotLineOf(own),
    close: async ({ save }) => {
      if (embedded === undefined) return;
      try {
        if (save) await embedded.save(folder.chainPath);
      } finally {
        await embedded.stop();
      }
    },
  };
}

/** How many households one registration transaction takes. */
const REGISTRATION_BATCH = 400;

/** Posts a run's slots and periods to its ledger, one record at a time (a {@link RunSink}). */
export class LedgerRun {
  #period: string | undefined;
  /** Each household's bill of the current period so far, money units, in household order. */
  #periodBills: bigint[] = [];

  private constructor(
    private readonly opened: OpenedLedger,
    private readonly options: LedgerRunOptions,
  ) {}

  /** Deploys a new ledger into `options.dir`, or continues the one there when resuming. */
  static async start(options: LedgerRunOptions): Promise<LedgerRun> {
    mkdirSync(options.dir, { recursive: true });
    if (!options.resume || !new LedgerFolder(options.dir).exists()) await deploy(options);
    const opened = await openLedger(options.dir, options.payerKey);
    const missing = options.households.filter((id, i) => opened.deployment.households[i]?.id !== id);
    if (missing.length > 0 || opened.deployment.households.length !== options.households.length) {
      await opened.close({ save: false });
      throw new Error(`the ledger in ${options.dir} registers other households than this run's`);
    }
    return new LedgerRun(opened, options);
  }

  get deployment(): Deployment {
    return this.opened.deployment;
  }

  /** Posts one slot: its lines' root and public result, signed by the nodes; a new period posts the last one's bills. */
  async add(record: SlotRecord): Promise<void> {
    const period = billingPeriodOf(record.slot);
    if (this.#period !== period) {
      await this.#postPeriod();
      this.#period = period;
      this.#periodBills = this.options.households.map(() => 0n);
    }
    // A slot already on the board (a resumed run) only adds to the period's bills.
    const posted = this.opened.folder.slots().has(record.slot);
    const lines = record.households.map((household) => {
      const line = slotLineOf(household);
      const committed = this.options.corrupt?.(record.slot, household.id, line) ?? line;
      if (committed !== line && !posted)
        this.opened.folder.appendFault({ slot: record.slot, household: household.id, line: committed });
      return committed;
    });
    lines.forEach((line, h) => {
      this.#periodBills[h] = (this.#periodBills[h] as bigint) + line.billMoney;
    });
    if (posted) return;
    const { ledger, nodes, deployment } = this.opened;
    const leaves = lines.map((line, h) => {
      const household = deployment.households[h]?.address as Address;
      return lineLeaf(household, nodes.openings(record.slot, household, line));
    });
    const publicInputs = { networkFee: record.prices.networkFee, households: lines.length };
    const result: SlotResult = {
      slot: record.slot,
      period,
      inputs: inputsCommitment(record.slot, record.prices, publicInputs.households),
      volumeWh: record.communityVolumeWh,
      linesRoot: new MerkleTree(leaves).root,
      ...aggregatesOf(record.prices, record.clearingPrice, lines, this.options.model),
    };
    const signatures = await Promise.all(nodes.accounts.map((node) => ledger.signSlot(result, node)));
    await ledger.postSlot(result, signatures);
    const entry: SlotEntry = {
      index: record.index,
      result,
      publicInputs,
      signatures,
      leaves: leaves.map((leaf) => bytesToHex(leaf)),
    };
    this.opened.folder.appendSlot(entry);
  }

  /** Posts the last period's bills and saves the embedded chain. */
  async close(): Promise<void> {
    try {
      await this.#postPeriod();
    } finally {
      await this.opened.close({ save: true });
    }
  }

  async #postPeriod(): Promise<void> {
    const period = this.#period;
    if (period === undefined) return;
    const { ledger, nodes, deployment, folder } = this.opened;
    if (folder.periods().has(period)) return;
    const leaves = deployment.households.map(({ address }, h) =>
      billLeaf(periodNumber(period), address, this.#periodBills[h] as bigint),
    );
    const billsRoot = new MerkleTree(leaves).root;
    const signatures = await Promise.all(
      nodes.accounts.map((node) => ledger.signPeriod(period, billsRoot, node)),
    );
    await ledger.postPeriod(period, billsRoot, signatures);
    const entry: PeriodEntry = {
      period,
      billsRoot,
      signatures,
      leaves: leaves.map((leaf) => bytesToHex(leaf)),
    };
    folder.appendPeriod(entry);
    // The supplier's own record of its customers' bills, which it settles.
    writeSupplierBills(folder.dir, period, this.#periodBills);
  }
}

/** What settling one period did. */
export interface PeriodSettlement {
  readonly period: string;
  /** Bills settled now; those settled before are skipped. */
  readonly settled: number;
  /** Null when settled; otherwise when its dispute window closes (ISO 8601), which it waits for. */
  readonly opensAt: string | null;
  readonly gas: bigint;
}

/**
 * The supplier settles every posted period whose dispute window has closed: each household's bill,
 * with its proof, once. With `fastForward` on the embedded chain, the chain's clock first moves past
 * the open windows (a test chain's privilege: on a real chain, settlement waits).
 */
export async function settlePeriods(
  opened: OpenedLedger,
  options: { readonly fastForward: boolean },
): Promise<PeriodSettlement[]> {
  const { ledger, deployment, folder, embedded } = opened;
  const settlements: PeriodSettlement[] = [];
  for (const entry of folder.periods().values()) {
    const posted = await ledger.postedPeriod(entry.period);
    if (posted === null) throw new Error(`period ${entry.period} is on the board but not on the ledger`);
    const now = await ledger.chainTime();
    if (now <= posted.disputesCloseAt) {
      if (!options.fastForward || embedded === undefined) {
        const opensAt = new Date((posted.disputesCloseAt + 1) * 1000).toISOString();
        settlements.push({ period: entry.period, settled: 0, opensAt, gas: 0n });
        continue;
      }
      await embedded.advanceClock(posted.disputesCloseAt + 1 - now);
    }
    const bills = supplierBills(folder.dir, entry.period);
    const tree = new MerkleTree(entry.leaves.map((leaf) => hexToBytes(leaf)));
    let settled = 0;
    let gas = 0n;
    for (const [h, { address }] of deployment.households.entries()) {
      if (await ledger.isSettled(entry.period, address)) continue;
      gas += await ledger.settle(entry.period, address, bills[h] as bigint, tree.proof(h));
      settled++;
    }
    settlements.push({ period: entry.period, settled, opensAt: null, gas });
  }
  return settlements;
}

/** The supplier's record of each household's bill of a period, in household order (money units). */
export function supplierBills(dir: string, period: string): bigint[] {
  const path = supplierBillsPath(dir, period);
  if (!existsSync(path)) throw new Error(`the supplier holds no bills of ${period} in ${dir}`);
  return (JSON.parse(readFileSync(path, "utf8")) as string[]).map(BigInt);
}

function writeSupplierBills(dir: string, period: string, bills: readonly bigint[]): void {
  mkdirSync(join(dir, "supplier"), { recursive: true });
  writeFileSync(supplierBillsPath(dir, period), JSON.stringify(bills.map(String)), { mode: 0o600 });
}

function supplierBillsPath(dir: string, period: string): string {
  return join(dir, "supplier", `bills-${period}.json`);
}

/** Deploys the contracts with the registry and the prepaid deposits, and writes the folder afresh. */
async function deploy(options: LedgerRunOptions): Promise<void> {
  if (options.rpcUrl !== undefined && options.payerKey === undefined)
    throw new Error(
      "a ledger on an RPC endpoint needs the key that pays for its transactions (--ledger-key)",
    );
  for (const name of ["slots.jsonl", "periods.jsonl", "faults.jsonl", "chain.json", "supplier"])
    rmSync(join(options.dir, name), { recursive: true, force: true });
  const keys: DeploymentKeys = {
    payer: options.payerKey ?? DEV_ACCOUNT_KEY,
    supplier: generatePrivateKey(),
    nodes: [...(options.nodeKeys ?? [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()])],
    households: Object.fromEntries(options.households.map((id) => [id, generatePrivateKey()])),
    meters: Object.fromEntries(options.households.map((id) => [id, generatePrivateKey()])),
  };
  const embedded = options.rpcUrl === undefined ? await startAnvil() : undefined;
  try {
    const endpoint = embedded ?? {
      url: options.rpcUrl as string,
      chainId: Number(await jsonRpc(options.rpcUrl as string, "eth_chainId", [])),
    };
    const nodes = new LedgerNodes(keys.nodes);
    const supplier = privateKeyToAccount(keys.supplier).address;
    const ledger = await SnippetLedger.deploy(endpoint, keys.payer, {
      nodes: nodes.addresses,
      threshold: 2,
      supplier,
      model: options.model,
      disputeWindowSeconds: options.disputeWindowSeconds,
      disputeBond: options.disputeBond,
    });
    const households = options.households.map((id) => ({
      id,
      address: privateKeyToAccount(keys.households[id] as Hex).address,
      meter: privateKeyToAccount(keys.meters[id] as Hex).address,
    }));
    for (let from = 0; from < households.length; from += REGISTRATION_BATCH) {
      await ledger.registerHouseholds(
        households
          .slice(from, from + REGISTRATION_BATCH)
          .map(({ address, meter }) => ({ household: address, meter })),
      );
    }
    // Every household prepays its deposit, and the supplier as much for each household it may owe.
    const accounts = [...households.map((h) => h.address), supplier];
    const amounts = [
      ...households.map(() => options.prepaidMoney),
      options.prepaidMoney * BigInt(households.length),
    ];
    await ledger.prepay(accounts, amounts);
    const deployment: Deployment = {
      version: 1,
      rpcUrl: options.rpcUrl ?? null,
      chainId: endpoint.chainId,
      ledger: ledger.addresses.ledger,
      token: ledger.addresses.token,
      operator: privateKeyToAccount(keys.payer).address,
      supplier,
      nodes: nodes.addresses,
      threshold: 2,
      model: options.model,
      disputeWindowSeconds: options.disputeWindowSeconds,
      disputeBond: String(options.disputeBond),
      households,
      run: options.run,
    };
    const folder = new LedgerFolder(options.dir);
    folder.writeDeployment(deployment, keys);
    if (embedded !== undefined) await embedded.save(folder.chainPath);
  } finally {
    await embedded?.stop();
  }
}
