/**
 * A household's own ledger lines on running nodes: it asks the three nodes for their openings of its
 * lines of the slots it names (`line-openings`, signed), each node answering its own. With them it
 * rebuilds each line (`lineOf`) and checks the leaf the nodes posted (`lineLeaf` with its ledger
 * address); only it can, as only it gets all three.
 * @module
 */
import { z } from "zod";
import { hexToBytes } from "../../ledger/hex.ts";
import { OPENING_BYTES, type Openings } from "../../ledger/lines.ts";
import type { Signer } from "../../private/keys.ts";
import { LINE_OPENINGS_PROGRAM } from "../../private/ledger/openings.ts";
import { describeError, parseWith } from "../../validation/index.ts";
import { JobError, type NodeClient } from "../mpc-node/client.ts";

const openingField = z.string().regex(new RegExp(`^0x[0-9a-f]{${2 * OPENING_BYTES}}$`), {
  error: () => `is not an opening of ${OPENING_BYTES} bytes`,
});

/** One node's answer, as the household checks it. */
const answerSchema = z.strictObject({
  missing: z.array(z.string()),
  openings: z.array(openingField.nullable()),
});

/**
 * The three nodes' openings of the household's own line of each slot, by node; null where the nodes
 * keep none (the slot not billed from what they keep, or no longer kept).
 * @throws {@link JobError} when the nodes refuse (not a household, no ledger address, a node without
 *   a ledger key) or a node's answer is malformed, naming the node; or when the nodes disagree on
 *   which slots they keep.
 */
export async function fetchLineOpenings(
  client: NodeClient,
  slots: readonly string[],
  household: Signer,
): Promise<(Openings | null)[]> {
  const outcome = await client.run(LINE_OPENINGS_PROGRAM, { slots: [...slots] }, new BigUint64Array(0), {
    signer: household,
  });
  const answers = outcome.publics.map((answer, node) => {
    let parsed: z.infer<typeof answerSchema>;
    try {
      parsed = parseWith(answerSchema, answer);
    } catch (error) {
      throw new JobError(`node ${node} answered malformed openings: ${describeError(error)}`);
    }
    if (parsed.openings.length !== slots.length)
      throw new JobError(
        `node ${node} answered ${parsed.openings.length} openings for ${slots.length} slots`,
      );
    return parsed;
  });
  return slots.map((slot, t) => {
    const three = answers.map((answer) => answer.openings[t]);
    if (three.every((opening) => opening === null)) return null;
    if (three.some((opening) => opening === null || opening === undefined))
      throw new JobError(`the nodes disagree on whether they keep the line of slot ${slot}`);
    return three.map((opening) => hexToBytes(opening as string)) as unknown as Openings;
  });
}
