/**
 * The EVM ledger (issue 9): the MPC nodes sign each slot's public result and each billing period's
 * bills root (EIP-712 typed data) and one transaction posts each; the `SnippetLedger` contract accepts
 * them only with a threshold of registered node signatures, and only once. Households and the
 * supplier keep deposits of `EnergyToken` on the ledger, and each household's period bill is settled
 * once against its Merkle proof, so balances after settlement equal the bills exactly. No personal
 * data goes on chain: a household proves its fill and its bill against the roots.
 * @module
 */
import {
  type Abi,
  type Address,
  BaseError,
  bytesToHex,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeFunctionData,
  type Hex,
  hashStruct,
  http,
  type LocalAccount,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt,
  type WalletClient,
  zeroHash,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import type { BillingModel } from "../billing/types.ts";
import type { EmbeddedChain } from "./anvil.ts";
import { compileContract } from "./compile.ts";
import type { Openings } from "./lines.ts";
import {
  type LedgerDomain,
  ledgerDomain,
  periodNumber,
  SLOT_RESULT_TYPES,
  type SlotResult,
  signSlotResult,
  slotMessage,
  slotResultSigner,
  slotSeconds,
} from "./slot-result.ts";

/** The ledger's client takes and gives slot results; what they are and how they are signed is in slot-result.ts. */
export type { SlotResult } from "./slot-result.ts";

/** Who the ledger knows and the community's terms, fixed at deployment. */
export interface LedgerSetup {
  /** The nodes' signing addresses and how many must sign. */
  readonly nodes: readonly Address[];
  readonly threshold: number;
  readonly supplier: Address;
  readonly model: BillingModel;
  /** How long a period's slots stay open to disputes after its bills are posted. */
  readonly disputeWindowSeconds: number;
  /** What a dispute holds from the household's deposit, money units. */
  readonly disputeBond: bigint;
}

/** Where a deployed ledger is. */
export interface LedgerAddresses {
  readonly ledger: Address;
  readonly token: Address;
}

/** A meter's signed reading of a slot. */
export interface SignedReading {
  readonly slot: string;
  readonly importWh: number;
  readonly exportWh: number;
  readonly signature: Hex;
}

/** What a household discloses to dispute its bill of a slot. */
export interface DisputeEvidence {
  readonly result: SlotResult;
  /** The signatures the slot was posted with. */
  readonly signatures: readonly Hex[];
  readonly openings: Openings;
  /** Its line's path to `result.linesRoot`. */
  readonly proof: readonly Hex[];
  /** Its meter's signed reading, when the line's reading is what it disputes. */
  readonly reading?: SignedReading;
}

/** How a dispute ended. */
export type DisputeOutcome =
  | {
      readonly upheld: true;
      readonly statedMoney: bigint;
      readonly correctMoney: bigint;
      readonly gas: bigint;
    }
  | { readonly upheld: false; readonly statedMoney: bigint; readonly gas: bigint };

/** The ledger refused a transaction; the message names the contract's reason. */
export class LedgerError extends Error {
  override readonly name = "LedgerError";
}

const PERIOD_BILLS_TYPES = {
  PeriodBills: [
    { name: "period", type: "uint32" },
    { name: "billsRoot", type: "bytes32" },
  ],
} as const;

const METER_READING_TYPES = {
  MeterReading: [
    { name: "slot", type: "uint64" },
    { name: "importWh", type: "uint64" },
    { name: "exportWh", type: "uint64" },
  ],
} as const;

/** A deployed `SnippetLedger` and its token, with the account that pays for transactions (and issues the token). */
export class SnippetLedger {
  private constructor(
    readonly addresses: LedgerAddresses,
    private readonly chainId: number,
    private readonly reader: PublicClient,
    private readonly writer: WalletClient,
    private readonly payer: PrivateKeyAccount,
  ) {}

  /** Deploys the token (issued by the payer) and the ledger (operated by the payer). */
  static async deploy(chain: ChainEndpoint, payerKey: Hex, setup: LedgerSetup): Promise<SnippetLedger> {
    const clients = connect(chain, payerKey);
    const deploy = async (name: string, args: readonly unknown[]): Promise<Address> => {
      const { abi, bytecode } = compileContract(name);
      const hash = await clients.writer.deployContract({
        abi,
        bytecode,
        args,
        account: clients.payer,
        chain: clients.writer.chain,
      });
      const { contractAddress } = await clients.reader.waitForTransactionReceipt({ hash });
      if (contractAddress === null || contractAddress === undefined)
        throw new LedgerError(`the ${name} deployment created no contract`);
      return contractAddress;
    };
    const token = await deploy("EnergyToken", []);
    const ledger = await deploy("SnippetLedger", [
      setup.nodes,
      setup.threshold,
      token,
      {
        supplier: setup.supplier,
        proportional: setup.model === "ucs-proportional",
        disputeWindow: BigInt(setup.disputeWindowSeconds),
        disputeBond: setup.disputeBond,
      },
    ]);
    return new SnippetLedger({ ledger, token }, chain.chainId, clients.reader, clients.writer, clients.payer);
  }

  /** A ledger deployed before, with the account that pays for this client's transactions. */
  static at(chain: ChainEndpoint, payerKey: Hex, addresses: LedgerAddresses): SnippetLedger {
    const clients = connect(chain, payerKey);
    return new SnippetLedger(addresses, chain.chainId, clients.reader, clients.writer, clients.payer);
  }

  get address(): Address {
    return this.addresses.ledger;
  }

  /** Registers households with their meters' signing addresses (the payer is the operator). */
  registerHouseholds(households: readonly { household: Address; meter: Address }[]): Promise<bigint> {
    return this.#write(
      "SnippetLedger",
      "registerHouseholds",
      [households.map((h) => h.household), households.map((h) => h.meter)],
      `the registration of ${households.length} households`,
    );
  }

  /** A node's EIP-712 signature of a slot's result for this ledger. */
  signSlot(result: SlotResult, node: LocalAccount): Promise<Hex> {
    return signSlotResult(result, node, this.#domain());
  }

  /** Posts a slot's result with the nodes' signatures. @returns the gas used. @throws {@link LedgerError} */
  postSlot(result: SlotResult, signatures: readonly Hex[]): Promise<bigint> {
    return this.#write(
      "SnippetLedger",
      "postSlot",
      [slotMessage(result), [...signatures]],
      `slot ${result.slot}`,
    );
  }

  /** The EIP-712 struct hash recorded for a slot, or null when none is posted. */
  async recordedSlot(slot: string): Promise<Hex | null> {
    const hash = (await this.#read("SnippetLedger", "posted", [slotSeconds(slot)])) as Hex;
    return hash === zeroHash ? null : hash;
  }

  /** The struct hash the contract records for a result. */
  slotHash(result: SlotResult): Hex {
    return hashStruct({ types: SLOT_RESULT_TYPES, primaryType: "SlotResult", data: slotMessage(result) });
  }

  /** A node's EIP-712 signature of a period's bills root. */
  signPeriod(period: string, billsRoot: Hex, node: LocalAccount): Promise<Hex> {
    return node.signTypedData({
      domain: this.#domain(),
      types: PERIOD_BILLS_TYPES,
      primaryType: "PeriodBills",
      message: { period: periodNumber(period), billsRoot },
    });
  }

  /** Posts a period's bills root with the nodes' signatures. @returns the gas used. @throws {@link LedgerError} */
  postPeriod(period: string, billsRoot: Hex, signatures: readonly Hex[]): Promise<bigint> {
    return this.#write(
      "SnippetLedger",
      "postPeriod",
      [periodNumber(period), billsRoot, [...signatures]],
      `period ${period}`,
    );
  }

  /** A period's posted bills root and when its dispute window closes (Unix seconds), or null. */
  async postedPeriod(period: string): Promise<{ billsRoot: Hex; disputesCloseAt: number } | null> {
    const [billsRoot, postedAt] = (await this.#read("SnippetLedger", "periods", [periodNumber(period)])) as [
      Hex,
      bigint,
    ];
    if (billsRoot === zeroHash) return null;
    const window = (await this.#read("SnippetLedger", "disputeWindow", [])) as bigint;
    return { billsRoot, disputesCloseAt: Number(postedAt + window) };
  }

  /** A meter's EIP-712 signature of its reading of a slot. */
  async signReading(reading: Omit<SignedReading, "signature">, meter: LocalAccount): Promise<SignedReading> {
    const signature = await meter.signTypedData({
      domain: this.#domain(),
      types: METER_READING_TYPES,
      primaryType: "MeterReading",
      message: readingMessage(reading),
    });
    return { ...reading, signature };
  }

  /** Issues `amount` tokens to `to` (the payer is the token's issuer). */
  mint(to: Address, amount: bigint): Promise<bigint> {
    return this.#write("EnergyToken", "mint", [to, amount], `minting for ${to}`);
  }

  /** `account` puts `amount` of its tokens on deposit (approving the ledger first). */
  async deposit(account: LocalAccount, amount: bigint): Promise<void> {
    await this.#write(
      "EnergyToken",
      "approve",
      [this.address, amount],
      `approval by ${account.address}`,
      account,
    );
    await this.#write("SnippetLedger", "deposit", [amount], `deposit by ${account.address}`, account);
  }

  /** The payer issues tokens and puts them on the accounts' deposits (prepayment), in one transfer. */
  async prepay(accounts: readonly Address[], amounts: readonly bigint[]): Promise<void> {
    const total = amounts.reduce((sum, amount) => sum + amount, 0n);
    await this.mint(this.payer.address, total);
    await this.#write("EnergyToken", "approve", [this.address, total], "the prepayment's approval");
    await this.#write("SnippetLedger", "depositFor", [[...accounts], [...amounts]], "the prepayment");
  }

  /**
   * `household` disputes its bill of a slot with its evidence; the contract recomputes it.
   * @throws {@link LedgerError} when the evidence does not hold (not the posted result, not its line,
   *   a forged meter signature, the window closed, disputed before, no bond on deposit).
   */
  async dispute(household: LocalAccount, evidence: DisputeEvidence): Promise<DisputeOutcome> {
    const reading = evidence.reading;
    const receipt = await this.#send(
      "SnippetLedger",
      "dispute",
      [
        slotMessage(evidence.result),
        [...evidence.signatures],
        evidence.openings.map((opening) => bytesToHex(opening)),
        [...evidence.proof],
        reading === undefined ? { slot: 0n, importWh: 0n, exportWh: 0n } : readingMessage(reading),
        reading?.signature ?? "0x",
      ],
      `the dispute of ${household.address} over slot ${evidence.result.slot}`,
      household,
    );
    const [event] = parseEventLogs({
      abi: compileContract("SnippetLedger").abi,
      logs: receipt.logs,
      eventName: ["DisputeUpheld", "DisputeRejected"],
    }) as unknown as { eventName: string; args: Record<string, bigint> }[];
    if (event === undefined) throw new LedgerError("the dispute left no outcome");
    return event.eventName === "DisputeUpheld"
      ? {
          upheld: true,
          statedMoney: event.args.statedMoney as bigint,
          correctMoney: event.args.correctMoney as bigint,
          gas: receipt.gasUsed,
        }
      : { upheld: false, statedMoney: event.args.money as bigint, gas: receipt.gasUsed };
  }

  /** Settles a household's bill of a period with its proof. @returns the gas used. @throws {@link LedgerError} */
  settle(period: string, household: Address, money: bigint, proof: readonly Hex[]): Promise<bigint> {
    return this.#write(
      "SnippetLedger",
      "settle",
      [periodNumber(period), household, money, [...proof]],
      `the ${period} bill of ${household}`,
    );
  }

  /** The tokens the ledger holds: the sum of all deposits, if its books are right. */
  async heldTokens(): Promise<bigint> {
    return (await this.#read("EnergyToken", "balanceOf", [this.address])) as bigint;
  }

  /** The time of the chain's latest block, Unix seconds. */
  async chainTime(): Promise<number> {
    return Number((await this.reader.getBlock()).timestamp);
  }

  /** Whether a household's bill of a period is settled. */
  async isSettled(period: string, household: Address): Promise<boolean> {
    return (await this.#read("SnippetLedger", "settled", [periodNumber(period), household])) as boolean;
  }

  /** What an account holds on deposit. */
  async depositOf(account: Address): Promise<bigint> {
    return (await this.#read("SnippetLedger", "deposits", [account])) as bigint;
  }

  /** What upheld disputes added to a household's bill of a period. */
  async correctionOf(period: string, household: Address): Promise<bigint> {
    return (await this.#read("SnippetLedger", "corrections", [periodNumber(period), household])) as bigint;
  }

  /** How many wrong results a node signed, as upheld disputes found. */
  async flagsOf(node: Address): Promise<bigint> {
    return (await this.#read("SnippetLedger", "flags", [node])) as bigint;
  }

  /** Every event the ledger emitted, oldest first, with the transaction that emitted it. */
  async history(): Promise<LedgerEvent[]> {
    const logs = await this.reader.getContractEvents({
      address: this.address,
      abi: compileContract("SnippetLedger").abi,
      fromBlock: 0n,
    });
    return logs.map((log) => ({
      name: (log as unknown as { eventName: string }).eventName,
      args: (log as unknown as { args: Record<string, unknown> }).args,
      transaction: log.transactionHash,
    }));
  }

  /** The signatures a slot was posted with, read back from the posting transaction's input. */
  async postingSignatures(transaction: Hex): Promise<Hex[]> {
    const { input } = await this.reader.getTransaction({ hash: transaction });
    const { functionName, args } = decodeFunctionData({
      abi: compileContract("SnippetLedger").abi,
      data: input,
    });
    if (functionName !== "postSlot" && functionName !== "postPeriod")
      throw new LedgerError(`transaction ${transaction} posts no result`);
    const list = (args ?? []) as readonly unknown[];
    return [...(list[list.length - 1] as readonly Hex[])];
  }

  /** Which node addresses signed a posted slot result, from its signatures. */
  async slotSigners(result: SlotResult, signatures: readonly Hex[]): Promise<Address[]> {
    return Promise.all(signatures.map((signature) => slotResultSigner(result, signature, this.#domain())));
  }

  #domain(): LedgerDomain {
    return ledgerDomain(this.chainId, this.address);
  }

  #contract(name: string): { address: Address; abi: Abi } {
    return {
      address: name === "EnergyToken" ? this.addresses.token : this.addresses.ledger,
      abi: compileContract(name).abi,
    };
  }

  async #read(name: string, functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.reader.readContract({ ...this.#contract(name), functionName, args });
  }

  /** Simulates, sends and waits for a call. @returns the gas used. */
  async #write(
    name: string,
    functionName: string,
    args: readonly unknown[],
    what: string,
    account: LocalAccount = this.payer,
  ): Promise<bigint> {
    return (await this.#send(name, functionName, args, what, account)).gasUsed;
  }

  /** Simulates, sends and waits for a call; a revert becomes a {@link LedgerError} naming `what` and the reason. */
  async #send(
    name: string,
    functionName: string,
    args: readonly unknown[],
    what: string,
    account: LocalAccount = this.payer,
  ): Promise<TransactionReceipt> {
    try {
      const { request } = await this.reader.simulateContract({
        ...this.#contract(name),
        functionName,
        args,
        account,
      });
      const hash = await this.writer.writeContract(request);
      return await this.reader.waitForTransactionReceipt({ hash });
    } catch (error) {
      throw new LedgerError(`the ledger refused ${what}: ${revertReason(error)}`);
    }
  }
}

/** An event of the ledger's history. */
export interface LedgerEvent {
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly transaction: Hex;
}

/** How often to ask for a transaction's receipt (viem's default, 4 s, is a public chain's block time). */
const RECEIPT_POLL_MS = 50;

/** A JSON-RPC endpoint and its chain id. */
export type ChainEndpoint = Pick<EmbeddedChain, "url" | "chainId">;

function connect(chain: ChainEndpoint, payerKey: Hex) {
  const payer = privateKeyToAccount(payerKey);
  const transport = http(chain.url, { retryCount: 0 });
  const network = { ...foundry, id: chain.chainId };
  return {
    payer,
    // A local or fast chain answers within milliseconds: poll for receipts accordingly.
    reader: createPublicClient({
      chain: network,
      transport,
      pollingInterval: RECEIPT_POLL_MS,
    }) as PublicClient,
    writer: createWalletClient({
      chain: network,
      transport,
      account: payer,
      pollingInterval: RECEIPT_POLL_MS,
    }) as WalletClient,
  };
}

function readingMessage(reading: Omit<SignedReading, "signature">) {
  return {
    slot: slotSeconds(reading.slot),
    importWh: BigInt(reading.importWh),
    exportWh: BigInt(reading.exportWh),
  };
}

/** The contract's custom error with its arguments, such as `SlotAlreadyPosted(1780315200)`. */
function revertReason(error: unknown): string {
  if (error instanceof BaseError) {
    const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data !== undefined)
      return `${reverted.data.errorName}(${(reverted.data.args ?? []).map(String).join(", ")})`;
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
