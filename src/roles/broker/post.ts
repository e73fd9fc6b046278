/**
 * The broker (the operator) has the nodes sign a billed slot's posting: each node builds the lines'
 * root from the three nodes' digests of their openings and signs the slot's public result with its
 * own ledger key, for the ledger the broker names. The broker keeps a signature only where the node's
 * result is the one at least two nodes computed and the signature is that node's (its ledger address
 * in the nodes' configuration); two of them post the slot (`SnippetLedger.postSlot`).
 * @module
 */
import type { Address, Hex } from "viem";
import { z } from "zod";
import { hexToBytes } from "../../ledger/hex.ts";
import { MerkleTree } from "../../ledger/merkle.ts";
import {
  type LedgerDomain,
  ledgerDomain,
  type SlotResult,
  slotResultSigner,
} from "../../ledger/slot-result.ts";
import type { Signer } from "../../private/keys.ts";
import { SLOT_LINES_PROGRAM } from "../../private/ledger/postings.ts";
import { describeError, parseWith } from "../../validation/index.ts";
import { JobError, type NodeClient } from "../mpc-node/client.ts";

/** A billed slot's posting as the nodes signed it. */
export interface SignedSlot {
  readonly result: SlotResult;
  /** The households' leaves, in the order of the slot's bills (the registry's). */
  readonly leaves: readonly Hex[];
  /** Each node's signature of `result`, by party; null where the node signed another result or its signature is not its own. */
  readonly signatures: readonly [Hex | null, Hex | null, Hex | null];
}

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, { error: () => "is not 32 bytes in hex" });
const int = z.number().int();
const answerSchema = z.strictObject({
  result: z.strictObject({
    slot: z.string(),
    period: z.string(),
    inputs: hex32,
    volumeWh: int.nonnegative(),
    linesRoot: hex32,
    feedIn: int.nonnegative(),
    retail: int.nonnegative(),
    clearingPrice: int.nonnegative().nullable(),
    totalDeviationWh: int,
    sharers: int.nonnegative(),
    sharersDeviationWh: int.nonnegative(),
  }),
  leaves: z.array(hex32),
  signature: z.string().regex(/^0x[0-9a-f]{130}$/, { error: () => "is not a 65-byte signature in hex" }),
});
type Answer = z.infer<typeof answerSchema>;

/**
 * The nodes' signatures of `slot`'s posting for the ledger at `domain` (its chain and contract).
 * @throws {@link JobError} when the nodes refuse (the slot not billed from what they keep, a node
 *   without a ledger key, a household without a ledger address), a node fails, or no two nodes
 *   computed the same result.
 */
export async function signSlotOnNodes(
  client: NodeClient,
  slot: string,
  domain: { readonly chainId: number; readonly contract: Address },
  operator: Signer,
): Promise<SignedSlot> {
  const outcome = await client.run(
    SLOT_LINES_PROGRAM,
    { slot, chainId: domain.chainId, contract: domain.contract },
    new BigUint64Array(0),
    { signer: operator },
  );
  // A malformed answer is a node that did not compute the posting: its signature is not kept.
  const answers = outcome.publics.map((answer): Answer | undefined => {
    try {
      return parseWith(answerSchema, answer);
    } catch {
      return undefined;
    }
  });
  const agreed = agreedAnswer(answers);
  if (agreed === undefined)
    throw new JobError(`no two nodes computed the same posting of slot ${slot}: the nodes disagree`);
  if (new MerkleTree(agreed.leaves.map(hexToBytes)).root !== agreed.result.linesRoot)
    throw new JobError(`the nodes' leaves of slot ${slot} do not make the root they signed`);
  const signing = ledgerDomain(domain.chainId, domain.contract);
  const signatures = await Promise.all(
    answers.map((answer, node) => ownSignature(client, node, answer, agreed, signing)),
  );
  return {
    result: agreed.result as SlotResult,
    leaves: agreed.leaves as Hex[],
    signatures: signatures as [Hex | null, Hex | null, Hex | null],
  };
}

/** The result and leaves at least two nodes answered alike. */
function agreedAnswer(answers: readonly (Answer | undefined)[]): Answer | undefined {
  const key = (answer: Answer) => JSON.stringify({ result: answer.result, leaves: answer.leaves });
  return answers.find(
    (answer) =>
      answer !== undefined &&
      answers.filter((other) => other !== undefined && key(other) === key(answer)).length >= 2,
  );
}

/** A node's signature, if it signed the agreed result and the signature recovers to its ledger address. */
async function ownSignature(
  client: NodeClient,
  node: number,
  answer: Answer | undefined,
  agreed: Answer,
  domain: LedgerDomain,
): Promise<Hex | null> {
  if (answer === undefined || JSON.stringify(answer.result) !== JSON.stringify(agreed.result)) return null;
  const address = client.config.nodes[node as 0 | 1 | 2].ledgerAddress;
  if (address === undefined) return null;
  try {
    const signer = await slotResultSigner(agreed.result as SlotResult, answer.signature as Hex, domain);
    return signer.toLowerCase() === address.toLowerCase() ? (answer.signature as Hex) : null;
  } catch (error) {
    throw new JobError(
      `node ${node}'s signature of slot ${agreed.result.slot} cannot be read: ${describeError(error)}`,
    );
  }
}
