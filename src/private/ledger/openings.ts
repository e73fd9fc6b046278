/**
 * `line-openings`: a household asks each node for its opening of its own ledger lines — the node's
 * own additive share of each field (its replicated component x_i, which with the other two nodes'
 * makes the line) and a salt from the node's keyed stream — while the nodes keep its bills. A node
 * gives the same opening whenever asked: its shares are kept and its salt is drawn from its ledger
 * key for that slot and household. Each node answers its own opening, in its public reply; no other
 * party may ask, and a household gets its own lines only.
 * @module
 */
import { z } from "zod";
import { bytesToHex } from "../../ledger/hex.ts";
import { openingOf } from "../../ledger/lines.ts";
import { openingSalt } from "../../ledger/openings.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { askedSlotsField, refuseWithoutRegistry } from "../access.ts";
import type { JobContext, NodeLedger, SnippetProgram } from "../context.ts";

export const LINE_OPENINGS_PROGRAM = "line-openings";

/** One node's answer: its opening of each asked slot's line (0x-hex), null where it keeps none. */
export interface LineOpeningsPublic {
  /** Slots not billed from what the nodes keep, or no longer kept. */
  readonly missing: readonly string[];
  readonly openings: readonly (`0x${string}` | null)[];
}

/**
 * This node's opening of a household's line of a slot: its own component x_i of each field (the
 * three nodes' own components add up to the line) and its salt for that slot and household.
 */
export function nodeOpening(
  ledger: NodeLedger,
  slot: string,
  household: `0x${string}`,
  line: Shared,
): Uint8Array {
  return openingOf(Array.from(line.own), openingSalt(ledger.streamKey, slot, household));
}

/** Why a node opens no line for this request: who asks, and whether it can open lines at all. */
export function refuseLedger(context: JobContext): string | undefined {
  const problem = refuseWithoutRegistry(context);
  if (problem !== undefined) return problem;
  return context.ledger === undefined
    ? "this node keeps no ledger key: it neither opens lines nor signs postings"
    : undefined;
}

export const lineOpeningsProgram: SnippetProgram<{ slots: string[] }> = {
  description:
    `${LINE_OPENINGS_PROGRAM}: the asking household's own ledger lines of the slots it names, each ` +
    "node's opening (its share of each field and its salt) in its own public answer, while the nodes keep them",
  params: z.strictObject({ slots: askedSlotsField }),
  inputWords: () => 0,
  refuse(_params, context) {
    const problem = refuseLedger(context);
    if (problem !== undefined) return problem;
    const { requester } = context;
    if (requester?.role !== "household") return "only a household asks for its lines' openings";
    return requester.ledgerAddress === undefined
      ? `household ${requester.id} has no ledger address in the registry`
      : undefined;
  },
  async run(_party, { slots }, _inputs, context) {
    const { bills, requester, ledger } = context as Required<JobContext>;
    const address = requester.ledgerAddress as `0x${string}`;
    const missing: string[] = [];
    const openings = slots.map((slot) => {
      const line = bills.lineOf(slot, requester.id);
      if (line === undefined) {
        missing.push(slot);
        return null;
      }
      return bytesToHex(nodeOpening(ledger, slot, address, line));
    });
    const answer: LineOpeningsPublic = { missing, openings };
    return { public: answer };
  },
};
