/**
 * The program on the commitments the nodes keep: a household fetches its own commitments of the
 * slots it names (`slot-commitments`), as it would have received them at the clearing.
 * @module
 */
import { z } from "zod";
import { concat } from "../../mpc/arithmetic.ts";
import { askedSlotsField } from "../access.ts";
import type { JobContext, SnippetProgram } from "../context.ts";
import type { SlotCommitmentsPublic } from "./kept.ts";

/** A household's public part of a kept slot: the figures it got at the clearing, and how many words follow. */
export type KeptCommitmentsPublic = SlotCommitmentsPublic & { readonly words: number };

/** The answer: per asked slot, its public part or null, and which slots have nothing for the household. */
export interface SlotCommitmentsAnswer {
  /** Slots not cleared, no longer kept, or whose clearing did not count the household's intent. */
  readonly missing: readonly string[];
  readonly slots: readonly (KeptCommitmentsPublic | null)[];
}

/**
 * A household's own commitments of the slots it names, while the nodes keep them. Out, as shares,
 * the kept slots' words one after the other: the words `words` says, in the order the household
 * reads them at the clearing.
 */
export const slotCommitmentsProgram: SnippetProgram<{ slots: string[] }> = {
  description:
    "the asking household's own commitments of the slots it names, while the nodes keep them; out, " +
    "as shares, per kept slot: its community fill, per offer the volume, per acceptance the volume and the money",
  params: z.strictObject({ slots: askedSlotsField }),
  inputWords: () => 0,
  refuse(_params, context) {
    if (context.registry === undefined || context.commitments === undefined)
      return "this node keeps no registry of households";
    return context.requester?.role === "household" ? undefined : "only a household asks for its commitments";
  },
  async run(_party, { slots }, _inputs, context) {
    const { commitments, requester } = context as Required<JobContext>;
    const kept = slots.map((slot) => commitments.of(slot, requester.id));
    const answer: SlotCommitmentsAnswer = {
      missing: slots.filter((_, t) => kept[t] === undefined),
      slots: kept.map((one) => (one === undefined ? null : { ...one.public, words: one.shares.own.length })),
    };
    return {
      public: answer,
      outputs: concat(kept.flatMap((one) => (one === undefined ? [] : [one.shares]))),
    };
  },
};
