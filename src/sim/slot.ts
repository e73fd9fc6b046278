/**
 * One simulated slot, the five steps of DESIGN.md in order: agents turn forecasts into intents
 * (representatives aggregate their clients'), the market clears stages 1–3, meters read the actual
 * energy (forecast plus error), and UCS billing bills every household.
 * @module
 */
import type { Agent, AgentDecision, HouseholdEnergy } from "../agents/agent.ts";
import type { Outlook } from "../agents/forecast.ts";
import { type AggregateIntent, aggregateIntents, splitAggregateFill } from "../agents/representative.ts";
import {
  type BillingModel,
  type BillingSlot,
  billSlot,
  estimatedReading,
  type SlotBilling,
} from "../billing/index.ts";
import type { HouseholdSlotRecord, SlotRecord } from "../billing/record.ts";
import {
  clearSlot,
  type HouseholdIntent,
  type Side,
  type SlotOutcome,
  type SlotRequest,
  stageCommitments,
  type Zone,
} from "../market/index.ts";
import type { Random } from "../profiles/random.ts";
import type { SlotConditions, SlotEnergy } from "../profiles/types.ts";
import { actualEnergy, type homeRandoms, meterReading, slotFeedbackOf } from "./home.ts";

/** The community as the slot loop sees it: households in scenario order, each with its agent. */
export interface Community {
  readonly householdIds: readonly string[];
  readonly agents: readonly Agent[];
  /** The representative trading for each household, or null when it trades itself. */
  readonly representativeOf: readonly (string | null)[];
  /** What each household's connection can physically carry per slot, Wh: the bound on its readings. */
  readonly physicalCapacityWh: readonly number[];
  readonly zones?: readonly Zone[];
  readonly billingModel: BillingModel;
  /** One standard deviation of the forecast error of load and PV, as a share of the slot's energy. */
  readonly forecastErrorFraction: number;
  /** The public outlook (prices, weather) the planning agents forecast from, fed after every slot. */
  readonly outlook: Outlook;
}

export interface SlotInput {
  readonly index: number;
  readonly startMs: number;
  readonly prices: { readonly feedIn: number; readonly retail: number; readonly networkFee: number };
  /** Aligned with the community's households. */
  readonly forecasts: readonly SlotEnergy[];
  /** The slot's weather and EV stays, when the profiles know them. */
  readonly conditions?: SlotConditions;
  /** Each household's own stream of errors in this slot ({@link homeRandoms}). */
  readonly homeRandom: (householdId: string) => Random;
}

/**
 * Clears a whole slot (stages 1–3 of spec/market.md): the reference in process, or the MPC nodes on
 * the households' intents. An engine that cannot clear a slot (a node died) leaves every household
 * with its supplier.
 */
export type SlotEngine = (request: SlotRequest) => Promise<SlotOutcome>;

/** The reference engine: the plaintext specification. */
export const referenceSlotEngine: SlotEngine = async (request) => clearSlot(request);

/** Bills a slot: the plaintext reference in process, or the MPC nodes on shares. */
export type BillingEngine = (slot: BillingSlot, model: BillingModel) => Promise<SlotBilling>;

/** The reference billing: the plaintext specification. */
export const referenceBilling: BillingEngine = async (slot, model) => billSlot(slot, model);

/**
 * The reference billing, telling `onFault` about every reading it refused as implausible, as the MPC
 * engine tells about those the nodes refuse.
 */
export function reportingReferenceBilling(onFault: (message: string) => void): BillingEngine {
  return async (slot, model) => {
    const billing = billSlot(slot, model);
    for (const { id, reason } of billing.implausible)
      onFault(`slot ${slot.slot}: ${id}'s reading refused: ${reason}; billed at the estimate`);
    return billing;
  };
}

/** Who clears and who bills a slot; the reference for both unless an engine says otherwise. */
export interface SlotEngines {
  readonly slot: SlotEngine;
  readonly bill: BillingEngine;
}

export const REFERENCE_ENGINES: SlotEngines = { slot: referenceSlotEngine, bill: referenceBilling };

/** Runs one slot through all five steps. */
export async function simulateSlot(
  community: Community,
  input: SlotInput,
  engines: SlotEngines = REFERENCE_ENGINES,
): Promise<SlotRecord> {
  const slot = new Date(input.startMs).toISOString();
  const { conditions, startMs } = input;
  if (conditions !== undefined) community.outlook.recordWeather(startMs, conditions.outdoorTemperatureC);
  const answers = community.agents.map((agent, h) =>
    agent.plan({
      slotStartMs: startMs,
      prices: input.prices,
      forecast: input.forecasts[h] as SlotEnergy,
      weather: conditions,
      evSession: conditions?.evSessions[h],
      outlook: community.outlook,
    }),
  );
  // Planners answer with promises (their solver runs on threads); rule-based agents answer at once.
  const decisions = answers.some((answer) => answer instanceof Promise)
    ? await Promise.all(answers)
    : (answers as AgentDecision[]);
  const intents = decisions.map((decision) => decision.intent);
  const { direct, aggregates } = groupByRepresentative(community, intents);
  const outcome = await engines.slot({
    slot,
    prices: { feedIn: input.prices.feedIn, retail: input.prices.retail },
    households: [...direct, ...aggregates.map((aggregate) => aggregate.intent)],
    ...(community.zones === undefined ? {} : { zones: community.zones }),
  });
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
  // What each household put to the community: its own order, or its part of its representative's.
  const communityOrderOf = new Map<string, { readonly side: Side; readonly volumeWh: number }>();
  for (const order of outcome.orders) communityOrderOf.set(order.id, order);
  for (const aggregate of aggregates)
    for (const client of aggregate.clients) communityOrderOf.set(client.id, client);

  const households = intents.map(
    (
      intent,
      h,
    ): Omit<HouseholdSlotRecord, "bill"> & { actual: HouseholdEnergy; physicalCapacityWh: number } => {
      const order = orderOf.get(intent.id);
      const actual = actualEnergy(
        (decisions[h] as AgentDecision).energy,
        community.forecastErrorFraction,
        input.homeRandom(intent.id),
      );
      // A represented household that stayed out of its representative's aggregate deals with its supplier.
      const cappedWh = Math.min(intent.volumeWh, intent.connectionCapWh ?? intent.volumeWh);
      return {
        id: intent.id,
        order:
          order === undefined
            ? null
            : { side: order.side, volumeWh: order.volumeWh, limitPrice: order.limitPrice },
        committed: commitmentsOf.get(intent.id) ?? stageCommitments(intent.side, 0, cappedWh, [], undefined),
        metered: meterReading(actual),
        actual,
        physicalCapacityWh: community.physicalCapacityWh[h] as number,
      };
    },
  );
  const billing = await engines.bill(
    {
      slot,
      prices: input.prices,
      clearingPrice: outcome.community.clearingPrice,
      households,
    },
    community.billingModel,
  );
  community.outlook.recordClearing(startMs, outcome.community.clearingPrice);
  // A reading billing refused is recorded as the estimate it was billed at: the record, its ledger
  // line and the statements then say what the bill was computed from.
  const refused = new Set(billing.implausible.map((reading) => reading.id));
  households.forEach(({ id, committed, actual }, h) => {
    (community.agents[h] as Agent).observe(
      slotFeedbackOf(startMs, actual, committed, communityOrderOf.get(id) ?? null),
    );
  });
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
        metered: refused.has(id) ? estimatedReading(committed) : metered,
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
