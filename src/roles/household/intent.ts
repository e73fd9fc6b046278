/**
 * A household's end of a slot on running nodes: its device seals its slot intent (its community
 * order and its part of its registered partnerships, as shares) to the three nodes, and once the
 * broker clears the slot it rebuilds its own commitments — its community fill, what it trades with
 * each partner, and what is left for its supplier. No one else can rebuild them. A household that
 * missed them (its connection dropped, or a node restarted, before the clearing) fetches them from
 * what the nodes keep.
 * @module
 */
import {
  type BilateralCommitment,
  type Commitments,
  type HouseholdIntent,
  stageCommitments,
} from "../../market/index.ts";
import type { BilateralPair } from "../../private/clearing/bilateral.ts";
import { encodeIntent, type IntentLayout, type SlotTerms } from "../../private/clearing/intent.ts";
import { INTENT_DOMAIN, type IntentPlan, intentPlanOf } from "../../private/clearing/intents.ts";
import type { SlotCommitmentsPublic } from "../../private/clearing/kept.ts";
import type { SlotCommitmentsAnswer } from "../../private/clearing/kept-programs.ts";
import type { Signer } from "../../private/keys.ts";
import type { Registry } from "../../private/registry.ts";
import { sealShares } from "../../private/sealed.ts";
import { JobError, type NodeClient, type NodeReply, replyKey } from "../mpc-node/client.ts";
import type { Message } from "../mpc-node/jobs.ts";

/** What a household learns when its slot is cleared: its commitments and the slot's public figures. */
export interface HouseholdSlotOutcome {
  readonly id: string;
  /** Its volume after the DSO's connection cap. */
  readonly cappedWh: number;
  /** Its community order after the bilateral stage, when it had one. */
  readonly communityOrderWh: number;
  readonly committed: Commitments;
  readonly slot: SlotCommitmentsPublic;
}

/**
 * The nodes keep no commitments of the household for the slot: it is not cleared (yet), no longer
 * kept, or its intent did not count (none reached them, or it was refused or left out).
 */
export class NoCommitments extends JobError {}

/** An intent all three nodes hold; `commitments` settles when the broker clears its slot. */
export interface HeldIntent {
  readonly commitments: Promise<HouseholdSlotOutcome>;
}

/**
 * Seals the household's intent for `slot` and sends each node its part; resolves once all three hold
 * it. The offers and acceptances must name registered partners (the registry's order is theirs).
 * @throws {@link JobError} when a node refuses the intent, naming why; `commitments` rejects the same way
 * when the slot leaves it out or fails.
 */
export async function submitIntent(
  client: NodeClient,
  registry: Registry,
  slot: string,
  intent: HouseholdIntent,
  signer: Signer,
): Promise<HeldIntent> {
  const plan = intentPlanOf(registry);
  const h = plan.index.get(intent.id);
  if (h === undefined) throw new JobError(`${intent.id} is not a registered household`);
  const layout = plan.layouts[h] as IntentLayout;
  const { words, limitWords } = encodeIntent(plan.terms, h, intent, layout);
  const sealed = sealShares(INTENT_DOMAIN, signer.party, slot, words, limitWords, signer.key);
  const key = replyKey(slot, intent.id);
  await client.exchange(
    sealed.map(({ header, body }) => ({ header: { type: "intent", intent: header }, body })) as [
      Message,
      Message,
      Message,
    ],
    key,
    `intent of ${intent.id}`,
  );
  const commitments = (async (): Promise<HouseholdSlotOutcome> => {
    const replies = await client.waitForReplies(key, `intent of ${intent.id}`);
    const figures = (replies[0] as NodeReply).header as { public: SlotCommitmentsPublic };
    return outcomeOf(plan, h, layout, intent, figures.public, client.rebuild(replies));
  })();
  // A household that never asks for its commitments must not crash the process when the slot fails.
  commitments.catch(() => undefined);
  return { commitments };
}

/**
 * The household's commitments of a cleared slot as the nodes keep them (two days), rebuilt as
 * `submitIntent` gives them; `intent` is the one it sent.
 * @throws {@link NoCommitments} when the nodes keep none of its for the slot: not cleared (yet), no
 * longer kept, or its intent did not count; {@link JobError} when they fail.
 */
export async function fetchCommitments(
  client: NodeClient,
  registry: Registry,
  slot: string,
  intent: HouseholdIntent,
  signer: Signer,
): Promise<HouseholdSlotOutcome> {
  // The nodes answer the signer's own commitments: read under another intent's layout, they would be nonsense.
  if (signer.party !== intent.id)
    throw new JobError(
      `${signer.party} cannot fetch the commitments of ${intent.id}: a household fetches its own`,
    );
  const plan = intentPlanOf(registry);
  const h = plan.index.get(intent.id);
  if (h === undefined) throw new JobError(`${intent.id} is not a registered household`);
  const layout = plan.layouts[h] as IntentLayout;
  const outcome = await client.run("slot-commitments", { slots: [slot] }, new BigUint64Array(0), { signer });
  const [kept] = (outcome.public as SlotCommitmentsAnswer).slots;
  if (kept === null || kept === undefined)
    throw new NoCommitments(
      `the nodes keep no commitments of ${intent.id} for slot ${slot}: it is not cleared, no longer kept, ` +
        "or the intent did not count",
    );
  const { words, ...figures } = kept;
  const expected = 1 + layout.offers.length + 2 * layout.accepts.length;
  if (words !== expected)
    throw new JobError(
      `the nodes keep ${words} words of ${intent.id}'s commitments of slot ${slot}, its registered partners give ${expected}`,
    );
  return outcomeOf(plan, h, layout, intent, figures, outcome.outputs);
}

/**
 * The household's commitments from its rebuilt outputs: community fill, then per offer the volume,
 * per acceptance the volume and the money (so the seller's price, where they traded).
 */
function outcomeOf(
  plan: IntentPlan,
  h: number,
  layout: IntentLayout,
  intent: HouseholdIntent,
  slot: SlotCommitmentsPublic,
  outputs: BigUint64Array,
): HouseholdSlotOutcome {
  const household = plan.terms.households[h] as SlotTerms["households"][number];
  const cappedWh = Math.min(intent.volumeWh, household.connectionCapWh ?? intent.volumeWh);
  if (slot.refused) {
    const committed = stageCommitments(intent.side, 0, cappedWh, [], undefined);
    return { id: intent.id, cappedWh, communityOrderWh: 0, committed, slot };
  }
  const idOf = (k: number) => (plan.terms.households[k] as { id: string }).id;
  const pair = (k: number) => plan.terms.graph.pairs[k] as BilateralPair;
  const communityWh = Number(outputs[0]);
  const bilateral: BilateralCommitment[] = [];
  let at = 1;
  for (const k of layout.offers) {
    const volumeWh = Number(outputs[at++]);
    const price = intent.offers?.find((offer) => offer.partner === idOf(pair(k).buyer))?.price ?? 0;
    if (volumeWh > 0) bilateral.push({ partner: idOf(pair(k).buyer), side: "sell", volumeWh, price });
  }
  for (const k of layout.accepts) {
    const volumeWh = Number(outputs[at++]);
    const money = Number(outputs[at++]);
    if (volumeWh > 0)
      bilateral.push({ partner: idOf(pair(k).seller), side: "buy", volumeWh, price: money / volumeWh });
  }
  let bilateralWh = 0;
  for (const trade of bilateral) bilateralWh += trade.volumeWh;
  const remainderWh = cappedWh - bilateralWh;
  // A household in a zone split off with its own price trades at that price, not the community's.
  const zoneIndex =
    household.zone === undefined
      ? -1
      : (plan.terms.zones?.findIndex((zone) => zone.id === household.zone) ?? -1);
  const zonePrice = slot.zones?.[zoneIndex]?.clearingPrice;
  const ownPrice =
    zonePrice === undefined || zonePrice === slot.clearingPrice ? undefined : (zonePrice ?? undefined);
  const committed = stageCommitments(
    intent.side,
    communityWh,
    remainderWh - communityWh,
    bilateral,
    ownPrice,
  );
  return {
    id: intent.id,
    cappedWh,
    communityOrderWh: intent.community === false ? 0 : remainderWh,
    committed,
    slot,
  };
}
