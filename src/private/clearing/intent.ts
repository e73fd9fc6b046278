/**
 * A household's slot intent as the nodes take it: one fixed layout of shared words per household,
 * set by the registry's pair graph alone, so an intent's size says nothing about what it holds —
 * its community order (what it buys or sells, its limit, whether it trades in the community) and,
 * per registered partnership, its offer (cap, price) or acceptance (cap, most it pays). A household
 * that does not trade sends the same layout of zeros (a null intent).
 * @module
 */

import { compareIds } from "../../market/auction.ts";
import type { HouseholdIntent } from "../../market/slot.ts";
import type { SlotPrices, Zone } from "../../market/types.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import type { Registry } from "../registry.ts";
import { ANY_PRICE, type BilateralPair, type PairGraph } from "./bilateral.ts";
import { limitWord, zeros } from "./book.ts";

/** A household of a slot as the nodes know it: from the registry, never from its intent. */
export interface SlotHousehold {
  readonly id: string;
  /** Its feeder zone; required when the slot has zones. */
  readonly zone?: string;
  /** The DSO's cap on its connection: import cap when it buys, export cap when it sells. */
  readonly connectionCapWh?: number;
}

/** The public terms of one slot on the nodes. */
export interface SlotTerms {
  /** The households taking part, in ascending id order (string order, as the reference's). */
  readonly households: readonly SlotHousehold[];
  /** The registered partnerships among them, by index, in the reference's processing order. */
  readonly graph: PairGraph;
  readonly prices: SlotPrices;
  readonly zones?: readonly Zone[];
}

/** Where a household's own words go: the pairs in which it offers, and those in which it accepts. */
export interface IntentLayout {
  /** Pair indices with this household as seller, in the graph's (its priority) order. */
  readonly offers: readonly number[];
  /** Pair indices with this household as buyer, in the graph's order. */
  readonly accepts: readonly number[];
}

/** An intent's first words: what it buys, what it sells (one is 0), and 1 when it trades in the community. */
export const INTENT_HEAD = ["buyWh", "sellWh", "community"] as const;

/** Ring words of a household's intent: the head, then (cap, price) per offer and (cap, max price) per acceptance. */
export function intentWords(layout: IntentLayout): number {
  return INTENT_HEAD.length + 2 * layout.offers.length + 2 * layout.accepts.length;
}

/** Bit words of an intent, shared by XOR: its limit as a buy (16 bits) and as a sell (q − 1, 17 bits). */
export const INTENT_LIMIT_WORDS = 2;

/** Every household's layout in a graph. */
export function intentLayouts(graph: PairGraph): IntentLayout[] {
  const layouts = Array.from({ length: graph.households }, () => ({
    offers: [] as number[],
    accepts: [] as number[],
  }));
  graph.pairs.forEach(({ seller, buyer }: BilateralPair, k) => {
    layouts[seller]?.offers.push(k);
    layouts[buyer]?.accepts.push(k);
  });
  return layouts;
}

/**
 * The program's input layout, column by column: buyWh, sellWh, community (n each), then per pair
 * offerCapWh, price, acceptCapWh, maxPrice; then the limit words (buy, then sell; n each) shared by XOR.
 */
export function slotInputWords(terms: SlotTerms): number {
  const n = terms.households.length;
  return (INTENT_HEAD.length + INTENT_LIMIT_WORDS) * n + 4 * terms.graph.pairs.length;
}

/**
 * Puts each household's intent words (its own layout) into the program's columns. `intents[h]` holds
 * household h's ring words then its two limit words, as one party's shares.
 */
export function intentColumns(terms: SlotTerms, intents: readonly Shared[]): Shared {
  const n = terms.households.length;
  const pairs = terms.graph.pairs.length;
  const layouts = intentLayouts(terms.graph);
  const columns = zeros(slotInputWords(terms));
  const pairBase = INTENT_HEAD.length * n;
  const limitBase = pairBase + 4 * pairs;
  intents.forEach((intent, h) => {
    const layout = layouts[h] as IntentLayout;
    const put = (to: number, from: number) => {
      columns.own[to] = intent.own[from] as bigint;
      columns.next[to] = intent.next[from] as bigint;
    };
    for (let k = 0; k < INTENT_HEAD.length; k++) put(k * n + h, k);
    let at = INTENT_HEAD.length;
    for (const pair of layout.offers) {
      put(pairBase + pair, at++);
      put(pairBase + pairs + pair, at++);
    }
    for (const pair of layout.accepts) {
      put(pairBase + 2 * pairs + pair, at++);
      put(pairBase + 3 * pairs + pair, at++);
    }
    put(limitBase + h, at++);
    put(limitBase + n + h, at);
  });
  return columns;
}

/**
 * A household's intent as its words: ring words in its layout, then its two limit words (to share
 * by XOR). Offers and acceptances must name registered partners: the registry's graph, not the
 * intent, says who may trade with whom and in which order.
 * @throws RangeError naming an offer or acceptance outside the household's registered pairs.
 */
export function encodeIntent(
  terms: Pick<SlotTerms, "households" | "graph">,
  household: number,
  intent: HouseholdIntent,
  layout: IntentLayout = intentLayouts(terms.graph)[household] as IntentLayout,
): { words: BigUint64Array; limitWords: BigUint64Array } {
  const idOf = (h: number) => (terms.households[h] as SlotHousehold).id;
  const pair = (k: number) => terms.graph.pairs[k] as BilateralPair;
  const offered = new Set(layout.offers.map((k) => idOf(pair(k).buyer)));
  const accepted = new Set(layout.accepts.map((k) => idOf(pair(k).seller)));
  for (const offer of intent.offers ?? [])
    if (!offered.has(offer.partner))
      throw new RangeError(
        `${intent.id} offers to ${offer.partner}, which is not a registered partner of it`,
      );
  for (const accept of intent.accepts ?? [])
    if (!accepted.has(accept.partner))
      throw new RangeError(`${intent.id} accepts ${accept.partner}, which is not a registered partner of it`);
  const words = new BigUint64Array(intentWords(layout));
  words[0] = BigInt(intent.side === "buy" ? intent.volumeWh : 0);
  words[1] = BigInt(intent.side === "sell" ? intent.volumeWh : 0);
  words[2] = intent.community === false ? 0n : 1n;
  let at = INTENT_HEAD.length;
  for (const k of layout.offers) {
    const offer = intent.offers?.find((candidate) => candidate.partner === idOf(pair(k).buyer));
    words[at++] = BigInt(offer?.capWh ?? 0);
    words[at++] = BigInt(offer?.price ?? 0);
  }
  for (const k of layout.accepts) {
    // As the reference, the first acceptance of a seller counts.
    const accept = intent.accepts?.find((candidate) => candidate.partner === idOf(pair(k).seller));
    words[at++] = BigInt(accept?.capWh ?? 0);
    words[at++] = BigInt(accept?.maxPrice ?? ANY_PRICE);
  }
  return {
    words,
    limitWords: BigUint64Array.of(limitWord("buy", intent.limitPrice), limitWord("sell", intent.limitPrice)),
  };
}

/** The intent of a household that does not trade this slot: nothing to buy or sell, no offer, no acceptance. */
export function nullIntent(id: string, prices: SlotPrices): HouseholdIntent {
  return { id, side: "buy", volumeWh: 0, limitPrice: prices.feedIn, community: false };
}

/**
 * A slot's terms from the registry (the DSO's map) for the households taking part: in ascending id
 * order, each with its zone (when the registry has zones) and connection cap; the registered pairs
 * among them, in the reference's processing order; the tariffs of the slot.
 */
export function slotTermsOf(registry: Registry, households: Iterable<string>, prices: SlotPrices): SlotTerms {
  const ids = [...new Set(households)].sort(compareIds);
  const index = new Map(ids.map((id, h) => [id, h]));
  const terms = ids.map((id): SlotHousehold => {
    const meter = registry.meters.get(registry.meterOf.get(id) ?? "");
    const zone = meter?.zone ?? registry.parties.get(id)?.zone;
    return {
      id,
      ...(registry.zones === undefined || zone === undefined ? {} : { zone }),
      ...(meter?.connectionCapWh === undefined ? {} : { connectionCapWh: meter.connectionCapWh }),
    };
  });
  const pairs = registry.pairs.flatMap((pair): BilateralPair[] => {
    const seller = index.get(pair.seller);
    const buyer = index.get(pair.buyer);
    return seller === undefined || buyer === undefined ? [] : [{ seller, buyer }];
  });
  return {
    households: terms,
    graph: { households: ids.length, pairs },
    prices,
    ...(registry.zones === undefined ? {} : { zones: registry.zones }),
  };
}
