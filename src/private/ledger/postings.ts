/**
 * `slot-lines`: the nodes sign a billed slot's posting. Each node hashes its own opening of every
 * household's line (its share of each field and its salt: `line-openings`), and the three exchange
 * these digests — never a share — inside the job, one frame to each neighbour. Each then builds the
 * leaves (the households in the order of the slot's bills, the registry's), the lines' root and the
 * slot's public result — the aggregates the billing opened, the clearing's price and volume, the
 * commitment to the public inputs — and signs it with its own ledger key for the ledger the operator
 * names. A node signs only the result it computed itself; the operator collects the signatures.
 * @module
 */
import { z } from "zod";
import { billingPeriodOf } from "../../billing/index.ts";
import { bytesToHex } from "../../ledger/hex.ts";
import { leafOfDigests, openingDigest } from "../../ledger/lines.ts";
import { MerkleTree } from "../../ledger/merkle.ts";
import type { SlotResult } from "../../ledger/slot-result.ts";
import type { Party } from "../../mpc/party.ts";
import { integerField, slotTimeField } from "../../validation/index.ts";
import type { JobContext, SnippetProgram } from "../context.ts";
import { nodeOpening, refuseLedger } from "./openings.ts";

export const SLOT_LINES_PROGRAM = "slot-lines";

const DIGEST_BYTES = 32;

const slotLinesParamsSchema = z.strictObject({
  slot: slotTimeField,
  /** The ledger's EIP-712 domain: its chain and its contract. */
  chainId: integerField(1, Number.MAX_SAFE_INTEGER, "not a chain id", "above 2^53 − 1"),
  contract: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, { error: () => "is not a contract address (0x and 40 hex digits)" }),
});
type SlotLinesParams = z.infer<typeof slotLinesParamsSchema>;

/** One node's answer: the result it computed and signed, the leaves it built, and its signature. */
export interface SlotLinesPublic {
  /** The slot's public result, as the ledger takes it. */
  readonly result: SlotResult;
  readonly leaves: readonly `0x${string}`[];
  readonly signature: `0x${string}`;
}

export const slotLinesProgram: SnippetProgram<SlotLinesParams> = {
  description:
    `${SLOT_LINES_PROGRAM}: each node's signature, with its own ledger key, of a billed slot's public result and ` +
    "the root of its households' lines, built from the three nodes' digests of their openings; operator only",
  params: slotLinesParamsSchema,
  inputWords: () => 0,
  refuse({ slot }, context) {
    const problem = refuseLedger(context);
    if (problem !== undefined) return problem;
    const { requester, bills, registry } = context as Required<JobContext>;
    if (requester?.role !== "operator") return "only the operator has the nodes sign a slot's posting";
    if (bills.billedOf(slot) === undefined)
      return `slot ${slot} is not billed from what the nodes keep, or its lines are no longer kept`;
    const unaddressed = bills
      .householdsOf(slot)
      ?.find((household) => registry.parties.get(household)?.ledgerAddress === undefined);
    return unaddressed === undefined
      ? undefined
      : `household ${unaddressed} has no ledger address in the registry`;
  },
  async run(party, { slot, chainId, contract }, _inputs, context) {
    const { bills, registry, ledger } = context as Required<JobContext>;
    const billed = bills.billedOf(slot);
    const households = bills.householdsOf(slot);
    if (billed === undefined || households === undefined)
      throw new Error(`the lines of slot ${slot} are not kept`);
    const addresses = households.map(
      (household) => registry.parties.get(household)?.ledgerAddress as `0x${string}`,
    );
    const own = new Uint8Array(DIGEST_BYTES * households.length);
    households.forEach((household, h) => {
      const line = bills.lineOf(slot, household);
      if (line === undefined) throw new Error(`the line of ${household} in slot ${slot} is not kept`);
      const opening = nodeOpening(ledger, slot, addresses[h] as `0x${string}`, line);
      own.set(openingDigest(opening), DIGEST_BYTES * h);
    });
    const digests = await exchangeDigests(party, own);
    const leaves = addresses.map((address, h) =>
      leafOfDigests(
        address,
        digests.map((node) => node.subarray(DIGEST_BYTES * h, DIGEST_BYTES * (h + 1))),
      ),
    );
    // viem is loaded on the first posting only: a node that never signs never pays for it.
    const [{ inputsCommitment, ledgerDomain, signSlotResult }, { privateKeyToAccount }] = await Promise.all([
      import("../../ledger/slot-result.ts"),
      import("viem/accounts"),
    ]);
    const { terms, figures, market } = billed;
    const result: SlotResult = {
      slot,
      period: billingPeriodOf(slot),
      inputs: inputsCommitment(slot, terms, households.length),
      volumeWh: market.volumeWh,
      linesRoot: new MerkleTree(leaves).root,
      feedIn: terms.feedIn,
      retail: terms.retail,
      clearingPrice: market.clearingPrice,
      totalDeviationWh: figures.totalDeviationWh,
      sharers: figures.sharers,
      sharersDeviationWh: figures.sharedWh,
    };
    const signature = await signSlotResult(
      result,
      privateKeyToAccount(ledger.key),
      ledgerDomain(chainId, contract as `0x${string}`),
    );
    const answer: SlotLinesPublic = { result, leaves: leaves.map(bytesToHex), signature };
    return { public: answer };
  },
};

/**
 * Sends this node's digests to both neighbours and receives theirs, in one round.
 * @returns the three nodes' digests, by party.
 */
async function exchangeDigests(party: Party, own: Uint8Array): Promise<[Uint8Array, Uint8Array, Uint8Array]> {
  const frames = await party.round({ prev: [own], next: [own] }, { prev: own.length, next: own.length });
  const digests = [own, own, own] as [Uint8Array, Uint8Array, Uint8Array];
  digests[party.prev] = frames.prev;
  digests[party.next] = frames.next;
  return digests;
}
