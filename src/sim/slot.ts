/**
 * One simulated slot, the five steps of DESIGN.md in order: agents turn forecasts into intents
 * (representatives aggregate their clients'), the market clears stages 1–3, meters read the actual
 * energy (forecast plus error), and UCS billing bills every household.
 * @module
 */
import type { Agent } from "../agents/agent.ts";
import { type AggregateIntent, aggregateIntents, splitAggregateFill } from "../agents/representative.ts";
import { type BillingModel, billSlot } from "../billing/index.ts";
import {
  type ClearRequest,
  type ClearResult,
  clearCommunity,
  type HouseholdIntent,
  planSlot,
  settleSlot,
  stageCommitments,
  type Zone,
} from "../market/index.ts";
import type { Random } from "../profiles/random.ts";
import type { SlotEnergy } from "../profiles/types.ts";
import type { HouseholdSlotRecord, SlotRecord } from "./types.ts";

/** The community as the slot loop sees it: households in scenario order, each with its agent. */
export interface Community {
  readonly householdIds: readonly string[];
  readonly agents: readonly Agent[];
  /** The representative trading for each household, or null when it trades itself. */
  readonly representativeOf: readonly (string | null)[];
  readonly zones?: readonly Zone[];
  readonly billingModel: BillingModel;
  /** One standard deviation of the forecast error, as a share of the slot's energy. */
  readonly forecastErrorFraction: number;
}

export interface SlotInput {
  readonly index: number;
  readonly startMs: number;
  readonly prices: { readonly feedIn: number; readonly retail: number; readonly networkFee: number };
  /** Aligned with the community's households. */
  readonly forecasts: readonly SlotEnergy[];
  /** This slot's own stream for meter errors, so that a resumed run draws the same errors. */
  readonly meterRandom: Random;
}

/**
 * Clears a slot's community book: the reference in process, or the MPC nodes. An engine that cannot
 * clear a slot (a node died) returns a result without fills: the households go to their supplier.
 */
export type CommunityEngine = (request: ClearRequest) => Promise<ClearResult>;

/** The reference engine: the plaintext specification. */
export const referenceEngine: CommunityEngine = async (request) => clearCommunity(request);

/** Runs one slot through all five steps. */
export async function simulateSlot(
  community: Community,
  input: SlotInput,
  engine: CommunityEngine = referenceEngine,
): Promise<SlotRecord> {
  const slot = new Date(input.startMs).toISOString();
  const intents = community.agents.map((agent, h) =>
    agent.plan({
      slotStartMs: input.startMs,
      prices: input.prices,
      forecast: input.forecasts[h] as SlotEnergy,
    }),
  );
  const { direct, aggregates } = groupByRepresentative(community, intents);
  const plan = planSlot({
    slot,
    prices: { feedIn: input.prices.feedIn, retail: input.prices.retail },
    households: [...direct, ...aggregates.map((aggregate) => aggregate.intent)],
    ...(community.zones === undefined ? {} : { zones: community.zones }),
  });
  const outcome = settleSlot(plan, await engine(plan.communityRequest));
  const commitmentsOf = new Map(outcome.commitments.map((entry) => [entry.id, entry.committed]));
  const fillOf = new Map(outcome.community.fills.map((fill) => [fill.id, fill.filledWh]));
  for (const aggregate of aggregates) {
    const zonePrice = commitmentsOf.get(aggregate.intent.id)?.communityPrice;
    splitAggregateFill(aggregate, fillOf.get(aggregate.intent.id) ?? 0).forEach((communityWh, k) => {
      const client = aggregate.clients[k] as HouseholdIntent;
      commitmentsOf.set(
        client.id,
        stageCommitments(client.side, communityWh, client.volumeWh - communityWh, [], zonePrice),
      );
    });
  }
  const orderOf = new Map(outcome.orders.map((order) => [order.id, order]));

  const households = intents.map((intent, h): Omit<HouseholdSlotRecord, "bill"> => {
    const order = orderOf.get(intent.id);
    // A represented household that stayed out of its representative's aggregate deals with its supplier.
    const cappedWh = Math.min(intent.volumeWh, intent.connectionCapWh ?? intent.volumeWh);
    return {
      id: intent.id,
      order:
        order === undefined
          ? null
          : { side: order.side, volumeWh: order.volumeWh, limitPrice: order.limitPrice },
      committed: commitmentsOf.get(intent.id) ?? stageCommitments(intent.side, 0, cappedWh, [], undefined),
      metered: meterReading(
        input.forecasts[h] as SlotEnergy,
        community.forecastErrorFraction,
        input.meterRandom,
      ),
    };
  });
  const billing = billSlot(
    {
      slot,
      prices: input.prices,
      clearingPrice: outcome.community.clearingPrice,
      households,
    },
    community.billingModel,
  );
  return {
    index: input.index,
    slot,
    prices: input.prices,
    clearingPrice: outcome.community.clearingPrice,
    communityVolumeWh: outcome.community.volumeWh,
    bilateral: outcome.bilateral,
    ...(outcome.community.zones === undefined ? {} : { zones: outcome.community.zones }),
    households: households.map(
      ({ id, order, committed, metered }, h): HouseholdSlotRecord => ({
        id,
        order,
        committed,
        metered,
        bill: billing.bills[h] as HouseholdSlotRecord["bill"],
      }),
    ),
  };
}

/** Direct intents go to the market as they are; represented ones as their representative's aggregates. */
function groupByRepresentative(
  community: Community,
  intents: readonly HouseholdIntent[],
): { direct: HouseholdIntent[]; aggregates: AggregateIntent[] } {
  const direct: HouseholdIntent[] = [];
  const clientsOf = new Map<string, HouseholdIntent[]>();
  intents.forEach((intent, h) => {
    const representative = community.representativeOf[h] ?? null;
    if (representative === null) direct.push(intent);
    else clientsOf.set(representative, [...(clientsOf.get(representative) ?? []), intent]);
  });
  const aggregates = [...clientsOf].flatMap(([representative, clients]) =>
    aggregateIntents(representative, clients),
  );
  return { direct, aggregates };
}

/**
 * What the meter reads: the forecast consumption and generation, each off by a normal error of
 * `errorFraction` of itself, netted at the connection.
 */
function meterReading(
  forecast: SlotEnergy,
  errorFraction: number,
  random: Random,
): { importWh: number; exportWh: number } {
  const consumptionWh = forecast.loadWh + forecast.evWh + forecast.heatPumpWh;
  const actualConsumptionWh = Math.max(0, Math.round(consumptionWh * (1 + random.normal(0, errorFraction))));
  const actualGenerationWh = Math.max(0, Math.round(forecast.pvWh * (1 + random.normal(0, errorFraction))));
  const netWh = actualConsumptionWh - actualGenerationWh;
  return netWh >= 0 ? { importWh: netWh, exportWh: 0 } : { importWh: 0, exportWh: -netWh };
}
