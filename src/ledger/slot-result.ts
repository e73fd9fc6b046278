/**
 * A slot's public result as the nodes sign it and the ledger keys it: its EIP-712 type, the message
 * the contract takes, a node's signature and its recovery, and the commitment to the public inputs.
 * Apart from the ledger's client (ledger.ts), which loads the Solidity compiler: a node signs its
 * postings with this alone.
 * @module
 */
import {
  type Address,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type LocalAccount,
  recoverTypedDataAddress,
} from "viem";
import type { SlotAggregates } from "./lines.ts";

/** A slot's public result as the nodes sign it. */
export interface SlotResult extends SlotAggregates {
  /** Slot start, ISO 8601. */
  readonly slot: string;
  /** Its billing period, "YYYY-MM". */
  readonly period: string;
  /** A commitment to the slot's public inputs (32 bytes); the private ones are in its lines. */
  readonly inputs: Hex;
  readonly volumeWh: number;
  /** The Merkle root of the slot's lines ({@link lineLeaf}). */
  readonly linesRoot: Hex;
}

export const SLOT_RESULT_TYPES = {
  SlotResult: [
    { name: "slot", type: "uint64" },
    { name: "period", type: "uint32" },
    { name: "inputs", type: "bytes32" },
    { name: "clearingPrice", type: "int64" },
    { name: "volumeWh", type: "uint64" },
    { name: "feedIn", type: "uint32" },
    { name: "retail", type: "uint32" },
    { name: "totalDeviationWh", type: "int64" },
    { name: "sharers", type: "uint32" },
    { name: "sharersDeviationWh", type: "uint64" },
    { name: "linesRoot", type: "bytes32" },
  ],
} as const;

/** The EIP-712 domain of a deployed ledger: what every signature for it names. */
export interface LedgerDomain {
  readonly name: "snippet";
  readonly version: "1";
  readonly chainId: number;
  readonly verifyingContract: Address;
}

export function ledgerDomain(chainId: number, contract: Address): LedgerDomain {
  return { name: "snippet", version: "1", chainId, verifyingContract: contract };
}

/** A node's EIP-712 signature of a slot's result for the ledger of `domain`. */
export function signSlotResult(result: SlotResult, node: LocalAccount, domain: LedgerDomain): Promise<Hex> {
  return node.signTypedData({
    domain,
    types: SLOT_RESULT_TYPES,
    primaryType: "SlotResult",
    message: slotMessage(result),
  });
}

/** The node address that signed a slot's result for the ledger of `domain`. */
export function slotResultSigner(result: SlotResult, signature: Hex, domain: LedgerDomain): Promise<Address> {
  return recoverTypedDataAddress({
    domain,
    types: SLOT_RESULT_TYPES,
    primaryType: "SlotResult",
    message: slotMessage(result),
    signature,
  });
}

/** The public inputs a slot's `inputs` field commits to: its start, tariffs and number of households. */
export function inputsCommitment(
  slot: string,
  prices: { readonly feedIn: number; readonly retail: number; readonly networkFee: number },
  households: number,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "string" }, { type: "uint32" }, { type: "uint32" }, { type: "uint32" }, { type: "uint32" }],
      [slot, prices.feedIn, prices.retail, prices.networkFee, households],
    ),
  );
}

/** A result as the contract takes and emits it: Unix seconds, YYYYMM, −1 for no trade, integers. */
export function slotMessage(result: SlotResult) {
  return {
    slot: slotSeconds(result.slot),
    period: periodNumber(result.period),
    inputs: result.inputs,
    clearingPrice: BigInt(result.clearingPrice ?? -1),
    volumeWh: BigInt(result.volumeWh),
    feedIn: result.feedIn,
    retail: result.retail,
    totalDeviationWh: BigInt(result.totalDeviationWh),
    sharers: result.sharers,
    sharersDeviationWh: BigInt(result.sharersDeviationWh),
    linesRoot: result.linesRoot,
  };
}

/** A slot's start as the contract keys it: Unix seconds. */
export function slotSeconds(slot: string): bigint {
  return BigInt(Date.parse(slot) / 1000);
}

/** A billing period "2026-06" as the contract keys it: 202606. */
export function periodNumber(period: string): number {
  return Number(period.replace("-", ""));
}
