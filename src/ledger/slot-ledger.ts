/**
 * The per-slot record on the EVM ledger (issue 9, step 3): the MPC nodes sign a slot's public result
 * (EIP-712 typed data: a commitment to the inputs, the clearing price and volume, the Merkle root of
 * the fills) and one transaction posts it; the `SlotLedger` contract accepts it only with a threshold
 * of registered node signatures, and only once per slot. A household proves its own fill against the
 * root with its Merkle proof; no personal data goes on chain.
 * @module
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
  type WalletClient,
  zeroHash,
} from "viem";
import { type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import type { EmbeddedChain } from "./anvil.ts";
import { compileContract } from "./compile.ts";

/** Anvil's first development account (the standard test mnemonic's): it pays for transactions in tests and the embedded chain. */
export const DEV_ACCOUNT_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

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

/** The fills of a slot as a Merkle tree of (order id, filled Wh) leaves; a household's proof is `getProof`. */
export function fillsTree(
  fills: readonly { readonly id: string; readonly filledWh: number }[],
): StandardMerkleTree<[string, bigint]> {
  return StandardMerkleTree.of(
    fills.map((fill): [string, bigint] => [fill.id, BigInt(fill.filledWh)]),
    ["string", "uint64"],
  );
}

/** The ledger refused a transaction; the message names the contract's reason. */
export class LedgerError extends Error {
  override readonly name = "LedgerError";
}

const EIP712_TYPES = {
  SlotResult: [
    { name: "slot", type: "uint64" },
    { name: "inputs", type: "bytes32" },
    { name: "clearingPrice", type: "int64" },
    { name: "volumeWh", type: "uint64" },
    { name: "fillsRoot", type: "bytes32" },
  ],
} as const;

/** A deployed `SlotLedger`, with the account that pays for the postings. */
export class SlotLedger {
  private constructor(
    readonly address: Address,
    private readonly chainId: number,
    private readonly reader: PublicClient,
    private readonly writer: WalletClient,
    private readonly payer: PrivateKeyAccount,
  ) {}

  /** Deploys a ledger whose node set is `nodes`, `threshold` of which must sign every slot. */
  static async deploy(
    chain: Pick<EmbeddedChain, "url" | "chainId">,
    payerKey: Hex,
    nodes: readonly Address[],
    threshold: number,
  ): Promise<SlotLedger> {
    const { abi, bytecode } = compileContract("SlotLedger");
    const payer = privateKeyToAccount(payerKey);
    const transport = http(chain.url, { retryCount: 0 });
    const network = { ...foundry, id: chain.chainId };
    const reader = createPublicClient({ chain: network, transport });
    const writer = createWalletClient({ chain: network, transport, account: payer });
    const hash = await writer.deployContract({
      abi,
      bytecode,
      args: [nodes, threshold],
      account: payer,
      chain: network,
    });
    const receipt = await reader.waitForTransactionReceipt({ hash });
    if (receipt.contractAddress === null || receipt.contractAddress === undefined)
      throw new LedgerError("the SlotLedger deployment created no contract");
    return new SlotLedger(receipt.contractAddress, chain.chainId, reader, writer, payer);
  }

  /** A node's EIP-712 signature of a slot's result for this ledger. */
  sign(result: SlotResult, node: PrivateKeyAccount): Promise<Hex> {
    return node.signTypedData({
      domain: { name: "snippet", version: "1", chainId: this.chainId, verifyingContract: this.address },
      types: EIP712_TYPES,
      primaryType: "SlotResult",
      message: typedMessage(result),
    });
  }

  /**
   * Posts a slot's result with the nodes' signatures. @returns the gas the transaction used.
   * @throws {@link LedgerError} naming the contract's reason (an unknown signer, too few, a slot posted twice).
   */
  async post(result: SlotResult, signatures: readonly Hex[]): Promise<bigint> {
    const { abi } = compileContract("SlotLedger");
    const message = typedMessage(result);
    try {
      const { request } = await this.reader.simulateContract({
        address: this.address,
        abi,
        functionName: "postSlot",
        args: [
          message.slot,
          message.inputs,
          message.clearingPrice,
          message.volumeWh,
          message.fillsRoot,
          [...signatures],
        ],
        account: this.payer,
      });
      const hash = await this.writer.writeContract(request);
      const receipt = await this.reader.waitForTransactionReceipt({ hash });
      return receipt.gasUsed;
    } catch (error) {
      throw new LedgerError(`the ledger refused slot ${result.slot}: ${revertReason(error)}`);
    }
  }

  /** The EIP-712 struct hash recorded for a slot, or null when none is posted. */
  async recorded(slot: string): Promise<Hex | null> {
    const { abi } = compileContract("SlotLedger");
    const hash = (await this.reader.readContract({
      address: this.address,
      abi,
      functionName: "posted",
      args: [slotSeconds(slot)],
    })) as Hex;
    return hash === zeroHash ? null : hash;
  }
}

function typedMessage(result: SlotResult) {
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
