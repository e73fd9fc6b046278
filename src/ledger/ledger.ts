/**
 * The EVM ledger (issue 9): the MPC nodes sign each slot's public result and each billing period's
 * bills root (EIP-712 typed data) and one transaction posts each; the `SnippetLedger` contract accepts
 * them only with a threshold of registered node signatures, and only once. Households and the
 * supplier keep deposits of `EnergyToken` on the ledger, and each household's period bill is settled
 * once against its Merkle proof, so balances after settlement equal the bills exactly. No personal
 * data goes on chain: a household proves its fill and its bill against the roots.
 * @module
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type LocalAccount,
  type PublicClient,
  type WalletClient,
  zeroHash,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import type { EmbeddedChain } from "./anvil.ts";
import { compileContract } from "./compile.ts";

/** A slot's public result as the nodes sign it. */
export interface SlotResult {
  /** Slot start, ISO 8601. */
  readonly slot: string;
  /** A commitment to the slot's inputs (32 bytes). */
  readonly inputs: Hex;
  /** Price units, or null when the community did not trade. */
  readonly clearingPrice: number | null;
  readonly volumeWh: number;
  /** The Merkle root of the fills ({@link fillsTree}). */
  readonly fillsRoot: Hex;
}

/** Who the ledger knows: the nodes' signing addresses, how many must sign, and the supplier. */
export interface LedgerSetup {
  readonly nodes: readonly Address[];
  readonly threshold: number;
  readonly supplier: Address;
}

/** The fills of a slot as a Merkle tree of (order id, filled Wh) leaves; a household's proof is `getProof`. */
export function fillsTree(
  fills: readonly { readonly id: string; readonly filledWh: number }[],
): StandardMerkleTree<[string, bigint]> {
  return StandardMerkleTree.of(
    fills.map((fill): [string, bigint] => [fill.id, BigInt(fill.filledWh)]),
    ["string", "uint64"],
  );
}

/** A period's bills as a Merkle tree of (household address, money units owed) leaves. */
export function billsTree(
  bills: readonly { readonly household: Address; readonly money: bigint }[],
): StandardMerkleTree<[Address, bigint]> {
  return StandardMerkleTree.of(
    bills.map((bill): [Address, bigint] => [bill.household, bill.money]),
    ["address", "int256"],
  );
}

/** The ledger refused a transaction; the message names the contract's reason. */
export class LedgerError extends Error {
  override readonly name = "LedgerError";
}

const SLOT_RESULT_TYPES = {
  SlotResult: [
    { name: "slot", type: "uint64" },
    { name: "inputs", type: "bytes32" },
    { name: "clearingPrice", type: "int64" },
    { name: "volumeWh", type: "uint64" },
    { name: "fillsRoot", type: "bytes32" },
  ],
} as const;

const PERIOD_BILLS_TYPES = {
  PeriodBills: [
    { name: "period", type: "uint32" },
    { name: "billsRoot", type: "bytes32" },
  ],
} as const;

/** A deployed `SnippetLedger` and its token, with the account that pays for transactions (and issues the token). */
export class SnippetLedger {
  private constructor(
    readonly address: Address,
    readonly tokenAddress: Address,
    private readonly chainId: number,
    private readonly reader: PublicClient,
    private readonly writer: WalletClient,
    private readonly payer: PrivateKeyAccount,
  ) {}

  /** Deploys the token (issued by the payer) and the ledger. */
  static async deploy(
    chain: Pick<EmbeddedChain, "url" | "chainId">,
    payerKey: Hex,
    setup: LedgerSetup,
  ): Promise<SnippetLedger> {
    const payer = privateKeyToAccount(payerKey);
    const transport = http(chain.url, { retryCount: 0 });
    const network = { ...foundry, id: chain.chainId };
    const reader = createPublicClient({ chain: network, transport });
    const writer = createWalletClient({ chain: network, transport, account: payer });
    const deploy = async (name: string, args: readonly unknown[]): Promise<Address> => {
      const { abi, bytecode } = compileContract(name);
      const hash = await writer.deployContract({ abi, bytecode, args, account: payer, chain: network });
      const { contractAddress } = await reader.waitForTransactionReceipt({ hash });
      if (contractAddress === null || contractAddress === undefined)
        throw new LedgerError(`the ${name} deployment created no contract`);
      return contractAddress;
    };
    const token = await deploy("EnergyToken", []);
    const ledger = await deploy("SnippetLedger", [setup.nodes, setup.threshold, token, setup.supplier]);
    return new SnippetLedger(ledger, token, chain.chainId, reader, writer, payer);
  }

  /** A node's EIP-712 signature of a slot's result for this ledger. */
  signSlot(result: SlotResult, node: LocalAccount): Promise<Hex> {
    return node.signTypedData({
      domain: this.#domain(),
      types: SLOT_RESULT_TYPES,
      primaryType: "SlotResult",
      message: slotMessage(result),
    });
  }

  /** Posts a slot's result with the nodes' signatures. @returns the gas used. @throws {@link LedgerError} */
  postSlot(result: SlotResult, signatures: readonly Hex[]): Promise<bigint> {
    const m = slotMessage(result);
    return this.#write(
      "SnippetLedger",
      "postSlot",
      [m.slot, m.inputs, m.clearingPrice, m.volumeWh, m.fillsRoot, [...signatures]],
      `slot ${result.slot}`,
    );
  }

  /** The EIP-712 struct hash recorded for a slot, or null when none is posted. */
  async recordedSlot(slot: string): Promise<Hex | null> {
    const hash = (await this.#read("SnippetLedger", "posted", [slotSeconds(slot)])) as Hex;
    return hash === zeroHash ? null : hash;
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

  /** Settles a household's bill of a period with its proof. @returns the gas used. @throws {@link LedgerError} */
  settle(period: string, household: Address, money: bigint, proof: readonly Hex[]): Promise<bigint> {
    return this.#write(
      "SnippetLedger",
      "settle",
      [periodNumber(period), household, money, [...proof]],
      `the ${period} bill of ${household}`,
    );
  }

  /** What an account holds on deposit. */
  async depositOf(account: Address): Promise<bigint> {
    return (await this.#read("SnippetLedger", "deposits", [account])) as bigint;
  }

  #domain() {
    return { name: "snippet", version: "1", chainId: this.chainId, verifyingContract: this.address };
  }

  #contract(name: string): { address: Address; abi: Abi } {
    return {
      address: name === "EnergyToken" ? this.tokenAddress : this.address,
      abi: compileContract(name).abi,
    };
  }

  async #read(name: string, functionName: string, args: readonly unknown[]): Promise<unknown> {
    return this.reader.readContract({ ...this.#contract(name), functionName, args });
  }

  /** Simulates, sends and waits for a call; a revert becomes a {@link LedgerError} naming `what` and the reason. */
  async #write(
    name: string,
    functionName: string,
    args: readonly unknown[],
    what: string,
    account: LocalAccount = this.payer,
  ): Promise<bigint> {
    try {
      const { request } = await this.reader.simulateContract({
        ...this.#contract(name),
        functionName,
        args,
        account,
      });
      const hash = await this.writer.writeContract(request);
      return (await this.reader.waitForTransactionReceipt({ hash })).gasUsed;
    } catch (error) {
      throw new LedgerError(`the ledger refused ${what}: ${revertReason(error)}`);
    }
  }
}

function slotMessage(result: SlotResult) {
  return {
    slot: slotSeconds(result.slot),
    inputs: result.inputs,
    clearingPrice: BigInt(result.clearingPrice ?? -1),
    volumeWh: BigInt(result.volumeWh),
    fillsRoot: result.fillsRoot,
  };
}

/** A slot's start as the contract keys it: Unix seconds. */
function slotSeconds(slot: string): bigint {
  return BigInt(Date.parse(slot) / 1000);
}

/** A billing period "2026-06" as the contract keys it: 202606. */
function periodNumber(period: string): number {
  return Number(period.replace("-", ""));
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
