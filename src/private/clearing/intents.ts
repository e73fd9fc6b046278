/**
 * A slot on the nodes, as live.md deploys it: every registered household sends each node its sealed
 * slot intent (intent.ts's layout, sealed by sealed.ts) before the gate closes; each node checks and
 * holds it, or refuses it alone with the reason. At gate close the broker asks the nodes to clear the
 * slot (`clear-slot`, once per slot): the three clear the intents all of them hold with the same
 * signature, a household whose intent did not arrive counting as a null intent, and answer every
 * household with its own commitments only — its community fill, its pairs' volumes and, where it
 * buys from a partner, the money — and the broker with the public figures. The nodes keep each
 * household's commitments a while (kept.ts), for one whose connection dropped to fetch.
 * @module
 */
import { z } from "zod";
import { compareIds } from "../../market/auction.ts";
import { concat, publicShared, type Shared, slice } from "../../mpc/arithmetic.ts";
import { encodeShares } from "../../mpc/encoding.ts";
import type { PartyId } from "../../mpc/transport/types.ts";
import { describeError, parseWith, priceField, slotTimeField } from "../../validation/index.ts";
import type { JobContext, Replier, SnippetProgram } from "../context.ts";
import type { Registry } from "../registry.ts";
import { openSealed, type SealedHeader, sealedHeaderSchema } from "../sealed.ts";
import { rowsAt } from "../shares.ts";
import { type IntentIntake, intentKey } from "./intake.ts";
import {
  encodeIntent,
  INTENT_LIMIT_WORDS,
  type IntentLayout,
  intentColumns,
  intentLayouts,
  intentWords,
  nullIntent,
  type SlotTerms,
  slotTermsOf,
} from "./intent.ts";
import type { KeptClearing, SlotCommitmentsPublic, SlotFigures } from "./kept.ts";
import { clearSlotOnShares } from "./whole-slot.ts";

/** The domain intents are sealed under. */
export const INTENT_DOMAIN = "snippet-slot-intent-v1";

/** The program a broker asks for to clear a slot from the intents the nodes hold. */
export const CLEAR_SLOT_PROGRAM = "clear-slot";

/** A household's intent message: the sealed header; the body carries this node's two components. */
export const intentMessageSchema = z.strictObject({ type: z.literal("intent"), intent: sealedHeaderSchema });

/** The registry's households (every party that trades as one), in ascending id order. */
export function tradingHouseholds(registry: Registry): string[] {
  return [...registry.parties.values()]
    .filter((party) => party.role === "household")
    .map((party) => party.id)
    .sort(compareIds);
}

/** Every registered household's place in the intents: the same every slot, whoever takes part. */
export interface IntentPlan {
  /** The registry's slot terms without tariffs: its households in id order, their pair graph, zones. */
  readonly terms: Omit<SlotTerms, "prices">;
  readonly layouts: readonly IntentLayout[];
  /** Each household's index in `terms.households`. */
  readonly index: ReadonlyMap<string, number>;
}

const plans = new WeakMap<Registry, IntentPlan>();

/** The registry's {@link IntentPlan}, built once per registry (the node's and the household's device alike). */
export function intentPlanOf(registry: Registry): IntentPlan {
  let plan = plans.get(registry);
  if (plan === undefined) {
    const { prices: _, ...terms } = slotTermsOf(registry, tradingHouseholds(registry), {
      feedIn: 0,
      retail: 0,
    });
    plan = {
      terms,
      layouts: intentLayouts(terms.graph),
      index: new Map(terms.households.map((household, h) => [household.id, h])),
    };
    plans.set(registry, plan);
  }
  return plan;
}

/**
 * Takes a household's sealed intent into the intake and answers it: held, or refused with the reason.
 * A message that does not name a household and a slot answers as an unreadable request.
 */
export function holdIntent(
  intake: IntentIntake<Replier>,
  registry: Registry | undefined,
  node: PartyId,
  household: Replier,
  header: unknown,
  body: Uint8Array,
): string | undefined {
  let sealed: SealedHeader;
  try {
    sealed = parseWith(intentMessageSchema, header).intent;
  } catch (error) {
    const message = `bad intent: ${describeError(error)}`;
    household.send({ type: "error", job: "", message });
    return message;
  }
  const job = sealed.slot;
  const party = registry?.parties.get(sealed.sender);
  const plan = registry === undefined ? undefined : intentPlanOf(registry);
  const h = plan?.index.get(sealed.sender);
  const layout = h === undefined ? undefined : plan?.layouts[h];
  const opened =
    registry === undefined
      ? { refused: "this node keeps no registry of households" }
      : party?.role !== "household" || layout === undefined
        ? { refused: `${sealed.sender} is not a registered household` }
        : openSealed(
            INTENT_DOMAIN,
            sealed,
            body,
            node,
            party.signingKey,
            intentWords(layout) + INTENT_LIMIT_WORDS,
          );
  if ("refused" in opened) {
    household.send({
      type: "error",
      job,
      order: sealed.sender,
      message: `intent of ${sealed.sender} refused: ${opened.refused}`,
    });
    return opened.refused;
  }
  const problem = intake.add(sealed.slot, sealed.sender, {
    shares: opened.shares,
    signature: sealed.signature,
    household,
  });
  household.send(
    problem === undefined
      ? { type: "held", job, order: sealed.sender }
      : { type: "error", job, order: sealed.sender, message: problem },
  );
  return problem;
}

const clearSlotParamsSchema = z.strictObject({ slot: slotTimeField, feedIn: priceField, retail: priceField });
type ClearSlotParams = z.infer<typeof clearSlotParamsSchema>;

/** What the broker learns: the slot's public figures, by household id. */
export interface SlotClosed extends SlotFigures {
  /** Households whose intent failed validation. */
  readonly refused: readonly string[];
  /** Households whose intent did not reach all three nodes alike: null intents this slot. */
  readonly leftOut: readonly string[];
  /** How many households sent an intent that counted. */
  readonly intents: number;
}

/**
 * The broker clears a slot from the intents the nodes hold (the operator's role; once per slot,
 * with the tariffs it names, which the nodes record in the answer). Asked again for a slot it
 * cleared, with the same tariffs, the nodes answer the same figures from what they keep and change
 * nothing: a broker that restarted before it stored the answer gets it.
 */
export const clearSlotProgram: SnippetProgram<ClearSlotParams> = {
  description: `${CLEAR_SLOT_PROGRAM}: clears a whole slot from the intents the nodes hold; operator only, once`,
  params: clearSlotParamsSchema.refine((p) => p.feedIn <= p.retail, {
    error: "feedIn is above retail",
    path: ["feedIn"],
  }),
  inputWords: () => 0,
  refuse({ slot, feedIn, retail }, context) {
    if (context.registry === undefined || context.intents === undefined)
      return "this node keeps no registry of households";
    if (context.requester?.role !== "operator") return "only the operator (the broker) clears a slot";
    if (!context.intents.isClosed(slot)) return undefined;
    // A repeat — a broker that restarted before it stored the answer — is answered again from what
    // the nodes keep, with the same tariffs only.
    const cleared = context.commitments?.clearingOf(slot);
    if (cleared === undefined)
      return `slot ${slot} is already cleared or billed, and the nodes keep no clearing of it to answer again`;
    const { prices } = cleared.figures;
    return prices.feedIn === feedIn && prices.retail === retail
      ? undefined
      : `slot ${slot} was cleared with feedIn ${prices.feedIn} and retail ${prices.retail}, not these tariffs`;
  },
  held: ({ slot }, context) => context.intents?.keys(slot) ?? [],
  async run(party, { slot, feedIn, retail }, _inputs, context, agreed = new Set<string>()) {
    const { registry, intents, commitments } = context as Required<JobContext>;
    const cleared = intents.isClosed(slot) ? commitments.clearingOf(slot) : undefined;
    if (cleared !== undefined) return { public: slotClosedOf(cleared) };
    const prices = { feedIn, retail };
    const held = intents.close(slot);
    const leftOut: string[] = [];
    for (const [id, intent] of held) {
      if (agreed.has(intentKey(id, intent.signature))) continue;
      leftOut.push(id);
      intent.household?.send({
        type: "error",
        job: slot,
        order: id,
        message: `intent of ${id} was left out of slot ${slot}: it did not reach all three nodes alike`,
      });
    }
    const counted = (id: string) => {
      const intent = held.get(id);
      return intent !== undefined && agreed.has(intentKey(id, intent.signature)) ? intent : undefined;
    };
    const plan = intentPlanOf(registry);
    const terms: SlotTerms = { ...plan.terms, prices };
    const { layouts } = plan;
    const inputs = intentColumns(
      terms,
      terms.households.map(
        (household, h) =>
          counted(household.id)?.shares ?? absentIntent(party.id, terms, h, layouts[h] as IntentLayout),
      ),
    );
    let result: Awaited<ReturnType<typeof clearSlotOnShares>>;
    try {
      result = await clearSlotOnShares(party, terms, inputs);
    } catch (error) {
      // The households wait on their own connections: each hears that the slot failed, not silence.
      for (const [id, intent] of held)
        intent.household?.send({
          type: "error",
          job: slot,
          order: id,
          message: `slot ${slot} could not be cleared: ${describeError(error)}`,
        });
      throw error;
    }
    const figures = {
      slot,
      prices,
      clearingPrice: result.public.clearingPrice,
      volumeWh: Number(result.public.volumeWh),
      ...(result.public.zones === undefined ? {} : { zones: result.public.zones }),
    };
    const refused = new Set(result.public.refused);
    // Kept for every counted household, so that one whose connection is gone fetches them later.
    const kept = new Map<string, Shared>();
    terms.households.forEach((household, h) => {
      const intent = counted(household.id);
      if (intent === undefined) return;
      const outputs = householdOutputs(result.shares, layouts[h] as IntentLayout, h);
      kept.set(household.id, outputs);
      const commitments: SlotCommitmentsPublic = { ...figures, refused: refused.has(h) };
      intent.household?.send(
        { type: "commitments", job: slot, order: household.id, public: commitments },
        encodeShares(outputs),
      );
    });
    const clearing = {
      figures,
      refused: [...refused].map((h) => (terms.households[h] as { id: string }).id),
      leftOut,
      columns: rowsAt(
        result.columns,
        terms.households.length,
        terms.households.flatMap((household, h) => (counted(household.id) === undefined ? [] : [h])),
      ),
    };
    commitments.keep(slot, kept, clearing);
    return { public: slotClosedOf({ ...clearing, counted: [...kept.keys()] }) };
  },
};

/** What the broker learns of a cleared slot, the first time and on a repeat alike. */
function slotClosedOf(cleared: KeptClearing): SlotClosed {
  return {
    ...cleared.figures,
    refused: cleared.refused,
    leftOut: cleared.leftOut,
    intents: cleared.counted.length,
  };
}

/**
 * A household's own outputs, in the order it reads them: its community fill; per offer, the volume;
 * per acceptance, the volume and the money it owes its seller.
 */
function householdOutputs(
  shares: Awaited<ReturnType<typeof clearSlotOnShares>>["shares"],
  layout: IntentLayout,
  h: number,
): Shared {
  const at = (column: Shared, k: number) => slice(column, k, k + 1);
  return concat([
    at(shares.communityFillWh, h),
    ...layout.offers.map((k) => at(shares.pairVolumeWh, k)),
    ...layout.accepts.flatMap((k) => [at(shares.pairVolumeWh, k), at(shares.pairMoney, k)]),
  ]);
}

/** A household without an intent this slot: a null intent, public to every node (shares of public words). */
function absentIntent(partyId: PartyId, terms: SlotTerms, h: number, layout: IntentLayout): Shared {
  const household = terms.households[h] as { id: string };
  const { words, limitWords } = encodeIntent(terms, h, nullIntent(household.id, terms.prices), layout);
  return publicShared(partyId, BigUint64Array.from([...words, ...limitWords]));
}
