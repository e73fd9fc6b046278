/**
 * Slot lines: what the ledger commits to for each household and slot — its order, its meter reading,
 * its community fill, its committed import and export, what its commitments cost and its bill — and
 * how the commitment is made without anyone but the household seeing the values. Each node hashes
 * its own share of the line with a salt of its own (its "opening"); the leaf is the household's
 * address with the three digests. The household, given the three openings, adds the shares up and
 * checks the leaf; the contract does the same when the household discloses them in a dispute.
 * @module
 */

import type { Address } from "viem";
import type { HouseholdSlotRecord } from "../billing/record.ts";
import type { BillingModel, BillingPrices } from "../billing/types.ts";
import { committedTotals, DeviationPool, deviationPrice } from "../billing/ucs.ts";
import { cost } from "../units/index.ts";
import { hexToBytes } from "./hex.ts";
import { keccak256Bytes } from "./keccak.ts";
import { LINE_FIELDS, type LineField } from "./line-fields.ts";

export { LINE_FIELDS, type LineField } from "./line-fields.ts";

/** One household's line of one slot. */
export type SlotLine = Readonly<Record<LineField, bigint>>;

/** A node's opening of a line: its share of each field (8 bytes, big-endian) and its 32-byte salt. */
export const OPENING_BYTES = LINE_FIELDS.length * 8 + 32;

/** The three nodes' openings of one line, by node. */
export type Openings = readonly [Uint8Array, Uint8Array, Uint8Array];

const RING = 1n << 64n;

/** A household's line from its record of the slot. */
export function slotLineOf(household: HouseholdSlotRecord): SlotLine {
  const { order, committed, metered, bill } = household;
  const totals = committedTotals(household);
  const hasCommitments = totals.importWh + totals.exportWh > 0;
  return {
    orderWh: BigInt(order === null ? 0 : order.side === "buy" ? order.volumeWh : -order.volumeWh),
    limitPrice: BigInt(order?.limitPrice ?? 0),
    importWh: BigInt(metered.importWh),
    exportWh: BigInt(metered.exportWh),
    communityWh: BigInt(committed.communityBuyWh - committed.communitySellWh),
    boughtWh: BigInt(totals.importWh),
    soldWh: BigInt(totals.exportWh),
    commitmentMoney: hasCommitments ? BigInt(bill.money) - BigInt(bill.deviationMoney) : 0n,
    billMoney: BigInt(bill.money),
  };
}

/** The public figures of a slot a line's bill depends on. */
export interface SlotAggregates {
  readonly feedIn: number;
  readonly retail: number;
  /** Null when the community did not trade. */
  readonly clearingPrice: number | null;
  /** `TD`: the sum of the deviations of households with commitments. */
  readonly totalDeviationWh: number;
  /** How many households are on the side that caused TD, and the sum of their |d|. */
  readonly sharers: number;
  readonly sharersDeviationWh: number;
}

/** The deviation of a line (`d_k`), or null without commitments. */
export function lineDeviationWh(line: SlotLine): number | null {
  if (line.boughtWh === 0n && line.soldWh === 0n) return null;
  return Number(line.exportWh - line.soldWh - (line.importWh - line.boughtWh));
}

/** The slot's aggregates from all its lines (what the nodes open after billing). */
export function aggregatesOf(
  prices: Pick<BillingPrices, "feedIn" | "retail">,
  clearingPrice: number | null,
  lines: readonly SlotLine[],
  model: BillingModel,
): SlotAggregates {
  const pool = DeviationPool.of(
    { prices: { ...prices, networkFee: 0 }, clearingPrice },
    lines.map(lineDeviationWh),
    model,
  );
  return {
    feedIn: prices.feedIn,
    retail: prices.retail,
    clearingPrice,
    totalDeviationWh: pool.totalDeviationWh,
    sharers: pool.sharers,
    sharersDeviationWh: pool.sharedDeviationWh,
  };
}

/**
 * The line's bill recomputed from its own quantities and the slot's aggregates (spec/billing.md), as
 * the contract recomputes a disputed one: with the reference's deviation pool.
 */
export function recomputedBill(line: SlotLine, slot: SlotAggregates, model: BillingModel): bigint {
  const prices = { feedIn: slot.feedIn, retail: slot.retail, networkFee: 0 };
  const d = lineDeviationWh(line);
  if (d === null) return line.importWh * BigInt(slot.retail) - line.exportWh * BigInt(slot.feedIn);
  const priced = { prices, clearingPrice: slot.clearingPrice };
  const pool = new DeviationPool(priced, slot.totalDeviationWh, slot.sharers, slot.sharersDeviationWh, model);
  return line.commitmentMoney - BigInt(cost(d, deviationPrice(priced))) + BigInt(pool.shareOf(d));
}

/**
 * Node `node`'s opening: `shares` (one per field, in Z_2^64) and its salt. The three nodes' shares of
 * a field add up to the field's value.
 */
export function openingOf(shares: readonly bigint[], salt: Uint8Array): Uint8Array {
  if (shares.length !== LINE_FIELDS.length || salt.length !== 32)
    throw new RangeError(`an opening holds ${LINE_FIELDS.length} shares and a 32-byte salt`);
  const opening = new Uint8Array(OPENING_BYTES);
  const view = new DataView(opening.buffer);
  for (const [field, share] of shares.entries()) view.setBigUint64(field * 8, BigInt.asUintN(64, share));
  opening.set(salt, LINE_FIELDS.length * 8);
  return opening;
}

/** The line the three openings open: each field the sum of its shares, read as signed 64-bit. */
export function lineOf(openings: Openings): SlotLine {
  const views = openings.map((opening) => {
    if (opening.length !== OPENING_BYTES) throw new RangeError(`an opening is ${OPENING_BYTES} bytes`);
    return new DataView(opening.buffer, opening.byteOffset, opening.byteLength);
  });
  const entries = LINE_FIELDS.map((field, i) => {
    let sum = 0n;
    for (const view of views) sum += view.getBigUint64(i * 8);
    return [field, BigInt.asIntN(64, sum % RING)] as const;
  });
  return Object.fromEntries(entries) as Record<LineField, bigint>;
}

/** The leaf that commits a household to the three openings of its line. */
export function lineLeaf(household: Address, openings: Openings): Uint8Array {
  return leafOfDigests(
    household,
    openings.map((opening) => keccak256Bytes(opening)),
  );
}

/** A node's digest of its opening of a line: what the nodes exchange to build the leaves. */
export function openingDigest(opening: Uint8Array): Uint8Array {
  return keccak256Bytes(opening);
}

/** The leaf from the three nodes' digests of their openings: keccak256(address ‖ digest₀ ‖ digest₁ ‖ digest₂). */
export function leafOfDigests(household: Address, digests: readonly Uint8Array[]): Uint8Array {
  const leaf = new Uint8Array(128);
  leaf.set(hexToBytes(household), 12);
  for (const [node, digest] of digests.entries()) leaf.set(digest, 32 * (node + 1));
  return keccak256Bytes(leaf);
}

/** The leaf of a household's period bill: keccak256(abi.encode(uint32 period, address, int256 money)). */
export function billLeaf(period: number, household: Address, money: bigint): Uint8Array {
  // abi.encode of three static values: each right-aligned in a 32-byte word, money in two's complement.
  const encoded = new Uint8Array(96);
  const view = new DataView(encoded.buffer);
  view.setUint32(28, period);
  encoded.set(hexToBytes(household), 44);
  const word = BigInt.asUintN(256, money);
  for (let k = 0; k < 4; k++) view.setBigUint64(64 + 8 * k, BigInt.asUintN(64, word >> BigInt(64 * (3 - k))));
  return keccak256Bytes(encoded);
}
