/**
 * A whole slot on shares (spec/market.md stages 1–3, as `clearSlot` of the reference): every
 * household's intent — its community order and its part of the registered partnerships — enters as
 * shares; the nodes check every field inside MPC, apply the DSO's connection caps, match the
 * bilateral stage in each seller's priority order, clear the community auction (with market
 * splitting when the DSO has zones) on what is left, and give each household its own community fill
 * and each partner its pair's volume and money, as shares. Stage 3 (the supplier takes every
 * remainder) is the household's own arithmetic on those.
 *
 * Public to the nodes, as live.md has it: which households take part, the registered pair graph,
 * zones and caps (the DSO's map), the tariffs; opened: which intents fail validation (not why) and
 * the auction's allowed figures. A household's side stays secret: every household is in the book as
 * a buyer and as a seller, one of the two with volume 0, and a household that does not trade sends
 * an intent of zeros (a null intent) that nothing tells apart from a real one.
 * @module
 */
import type { PriceBand } from "../../market/auction.ts";
import {
  add,
  concat,
  lengthOf,
  mul,
  mulPairs,
  open,
  publicShared,
  type Shared,
  slice,
  sub,
} from "../../mpc/arithmetic.ts";
import { lessThanZero, oneMinus } from "../../mpc/compare.ts";
import { bitLength } from "../../mpc/divide.ts";
import type { Party } from "../../mpc/party.ts";
import { MAX_ENERGY_WH, PRICE_GRID_MAX } from "../../units/index.ts";
import { clearBook } from "./auction.ts";
import { type BilateralPair, matchBilateralPrivately, type PairGraph } from "./bilateral.ts";
import { assembleSide, limitValues, loadBook, type SharedSide, zeros } from "./book.ts";
import { commitmentColumns } from "./columns.ts";
import { planClear } from "./encode.ts";
import { INTENT_HEAD, type SlotTerms } from "./intent.ts";
import { splitMarketPrivately } from "./zones.ts";

/** What the nodes publish of a slot: the auction's figures and the households whose intent failed its checks. */
export interface SlotPublic {
  readonly clearingPrice: number | null;
  readonly volumeWh: string;
  /** Indices (in the terms' order) of households whose intent failed validation: they trade with their supplier only. */
  readonly refused: readonly number[];
  /** With zones: each zone's price and net export, in the terms' zone order. */
  readonly zones?: readonly { readonly clearingPrice: number | null; readonly netExportWh: string }[];
}

/** The slot's shared results, column by column: community fill per household; volume and the buyer's money per pair. */
export interface SlotShares {
  readonly communityFillWh: Shared;
  readonly pairVolumeWh: Shared;
  readonly pairMoney: Shared;
}

/** Bits of every volume: the spec's bound of 2^32 − 1 Wh. */
const VOLUME_BITS = 32;

/**
 * Clears a whole slot on shares; `inputs` in the layout of {@link slotInputWords}. Every party calls it
 * with the same terms. Besides each household's outputs, every household's billing columns
 * (COMMITMENT_COLUMNS, column-major), which the nodes keep to bill the slot.
 */
export async function clearSlotOnShares(
  party: Party,
  terms: SlotTerms,
  inputs: Shared,
): Promise<{ public: SlotPublic; shares: SlotShares; columns: Shared }> {
  const n = terms.households.length;
  const pairs = terms.graph.pairs.length;
  const column = (k: number, length: number, at: number) =>
    slice(inputs, at + k * length, at + (k + 1) * length);
  const [buyWh, sellWh, community] = [0, 1, 2].map((k) => column(k, n, 0)) as [Shared, Shared, Shared];
  const pairBase = INTENT_HEAD.length * n;
  const [offerCapWh, price, acceptCapWh, maxPrice] = [0, 1, 2, 3].map((k) => column(k, pairs, pairBase)) as [
    Shared,
    Shared,
    Shared,
    Shared,
  ];
  // The limit words, as a book of n buys and n sells whose volumes come later.
  const limitBase = pairBase + 4 * pairs;
  const { buy, sell } = await loadBook(
    party,
    concat([zeros(2 * n), slice(inputs, limitBase, limitBase + 2 * n)]),
    n,
    n,
  );
  const limits = { buy: limitValues(buy, false, party), sell: limitValues(sell, true, party) };
  const checked = await validate(party, terms, {
    buyWh,
    sellWh,
    community,
    offerCapWh,
    price,
    acceptCapWh,
    maxPrice,
    buyLimit: limits.buy,
    sellLimit: limits.sell,
  });
  const refused = checked.refused;
  // A refused intent trades nothing: its volumes and the terms of its pairs become public zeros.
  const dropped = new Set(refused);
  const keepHouseholds = (x: Shared) => zeroAt(x, dropped);
  const droppedPairs = new Set(
    terms.graph.pairs.flatMap(({ seller, buyer }, k) =>
      dropped.has(seller) || dropped.has(buyer) ? [k] : [],
    ),
  );
  const keepPairs = (x: Shared) => zeroAt(x, droppedPairs);
  const bilateral = await matchBilateralPrivately(party, terms.graph, {
    sellWh: keepHouseholds(checked.cappedSellWh),
    buyWh: keepHouseholds(checked.cappedBuyWh),
    offerCapWh: keepPairs(offerCapWh),
    price: keepPairs(price),
    acceptCapWh: keepPairs(acceptCapWh),
    maxPrice: keepPairs(maxPrice),
  });
  // What is left goes to the community auction where the household trades there (its flag, checked to be 0 or 1).
  const flags = keepHouseholds(community);
  const communityWh = await mul(
    party,
    concat([bilateral.buyLeftWh, bilateral.sellLeftWh]),
    concat([flags, flags]),
  );
  const clearing = await clearCommunity(party, terms, {
    buy: { ...buy, volumes: slice(communityWh, 0, n) },
    sell: { ...sell, volumes: slice(communityWh, n, 2 * n) },
  });
  const buyFillWh = slice(clearing.fills, 0, n);
  const sellFillWh = slice(clearing.fills, n, 2 * n);
  const columns = await commitmentColumns(party, {
    pairs: terms.graph.pairs,
    buyFillWh,
    sellFillWh,
    pairVolumeWh: bilateral.volumeWh,
    pairMoney: bilateral.moneyBuyer,
    buyWh: keepHouseholds(checked.cappedBuyWh),
    sellWh: keepHouseholds(checked.cappedSellWh),
    communityBuyWh: slice(communityWh, 0, n),
    communitySellWh: slice(communityWh, n, 2 * n),
    buyLimit: limits.buy,
    sellLimit: limits.sell,
    refused,
    refusedBuyWh: checked.cappedBuyWh,
    refusedSellWh: checked.cappedSellWh,
    volumeChecks: checked.volumeChecks,
  });
  return {
    public: { ...clearing.public, refused },
    shares: {
      communityFillWh: add(buyFillWh, sellFillWh),
      pairVolumeWh: bilateral.volumeWh,
      pairMoney: bilateral.moneyBuyer,
    },
    columns,
  };
}

/** The shared fields of every intent, and the limits as ring values. */
interface IntentFields {
  readonly buyWh: Shared;
  readonly sellWh: Shared;
  readonly community: Shared;
  readonly offerCapWh: Shared;
  readonly price: Shared;
  readonly acceptCapWh: Shared;
  readonly maxPrice: Shared;
  readonly buyLimit: Shared;
  readonly sellLimit: Shared;
}

/**
 * Checks every field of every intent in one comparison call (64-bit, so any word a client sends is
 * judged right): volumes and caps in 0..MAX_ENERGY_WH, prices on the grid, the community flag 0 or
 * 1, both limits within the tariffs, and not a buy and a sell at once. A household's checks are
 * summed and the sum tested for zero, so only whether its intent is valid is opened, not which field
 * failed. The DSO's connection caps ride along: capped = v − [v > cap]·(v − cap).
 */
async function validate(
  party: Party,
  terms: SlotTerms,
  fields: IntentFields,
): Promise<{
  refused: number[];
  cappedBuyWh: Shared;
  cappedSellWh: Shared;
  volumeChecks: [Shared, Shared, Shared, Shared];
}> {
  const n = terms.households.length;
  const pairs = terms.graph.pairs.length;
  const constant = (count: number, value: bigint) =>
    publicShared(party.id, new BigUint64Array(count).fill(BigInt.asUintN(64, value)));
  const atMost = (x: Shared, max: number) => [x, sub(constant(lengthOf(x), BigInt(max)), x)];
  const { feedIn, retail } = terms.prices;
  const caps = new BigUint64Array(terms.households.map((h) => BigInt(h.connectionCapWh ?? MAX_ENERGY_WH)));
  const capShared = publicShared(party.id, caps);
  // Each entry is negative exactly when its check fails; the last four give the side and cap tests.
  const perHousehold = [
    ...atMost(fields.buyWh, MAX_ENERGY_WH),
    ...atMost(fields.sellWh, MAX_ENERGY_WH),
    ...atMost(fields.community, 1),
    sub(fields.buyLimit, constant(n, BigInt(feedIn))),
    sub(constant(n, BigInt(retail)), fields.buyLimit),
    sub(fields.sellLimit, constant(n, BigInt(feedIn))),
    sub(constant(n, BigInt(retail)), fields.sellLimit),
  ];
  const perPair = [
    ...atMost(fields.offerCapWh, MAX_ENERGY_WH),
    ...atMost(fields.price, PRICE_GRID_MAX),
    ...atMost(fields.acceptCapWh, MAX_ENERGY_WH),
    ...atMost(fields.maxPrice, PRICE_GRID_MAX),
  ];
  const sideAndCap = [
    sub(fields.buyWh, constant(n, 1n)),
    sub(fields.sellWh, constant(n, 1n)),
    sub(capShared, fields.buyWh),
    sub(capShared, fields.sellWh),
  ];
  const negative = await lessThanZero(party, concat([...perHousehold, ...perPair, ...sideAndCap]), 64);
  const at = (k: number, length: number, base: number) =>
    slice(negative, base + k * length, base + (k + 1) * length);
  const pairBase = perHousehold.length * n;
  const sideBase = pairBase + perPair.length * pairs;
  const [buyEmpty, sellEmpty, overBuy, overSell] = [0, 1, 2, 3].map((k) => at(k, n, sideBase)) as [
    Shared,
    Shared,
    Shared,
    Shared,
  ];
  // Both sides nonzero, and the capped volumes, in one round.
  const [both, cutBuy, cutSell] = await mulPairs(
    party,
    [oneMinus(party, buyEmpty), overBuy, overSell],
    [oneMinus(party, sellEmpty), sub(fields.buyWh, capShared), sub(fields.sellWh, capShared)],
  );
  // Failed checks per household: its own, then those of its pairs (each pair counts for both ends).
  let failed = both as Shared;
  for (let k = 0; k < perHousehold.length; k++) failed = add(failed, at(k, n, 0));
  let pairFailures = zeros(pairs);
  for (let k = 0; k < perPair.length; k++) pairFailures = add(pairFailures, at(k, pairs, pairBase));
  failed = addAtEnds(failed, pairFailures, terms.graph.pairs);
  const checks = perHousehold.length + 1 + perPair.length * maxPairsOf(terms.graph);
  // Valid: no check failed, [failed − 1 < 0].
  const valid = await open(
    party,
    await lessThanZero(party, sub(failed, constant(n, 1n)), bitLength(BigInt(checks)) + 1),
  );
  const refused: number[] = [];
  valid.forEach((bit, h) => {
    if (bit !== 0n) return;
    refused.push(h);
  });
  return {
    refused,
    cappedBuyWh: sub(fields.buyWh, cutBuy as Shared),
    cappedSellWh: sub(fields.sellWh, cutSell as Shared),
    // The range checks of the two volumes, the first four of every household's checks.
    volumeChecks: [at(0, n, 0), at(1, n, 0), at(2, n, 0), at(3, n, 0)],
  };
}

/** A pair's failed checks count against its seller and its buyer alike: local sums. */
function addAtEnds(perHousehold: Shared, perPair: Shared, pairs: readonly BilateralPair[]): Shared {
  const own = perHousehold.own.slice();
  const next = perHousehold.next.slice();
  pairs.forEach(({ seller, buyer }, k) => {
    for (const h of [seller, buyer]) {
      own[h] = (own[h] as bigint) + (perPair.own[k] as bigint);
      next[h] = (next[h] as bigint) + (perPair.next[k] as bigint);
    }
  });
  return { own, next };
}

/** The most pairs one household belongs to: bounds its count of failed checks. */
function maxPairsOf(graph: PairGraph): number {
  const counts = new Int32Array(graph.households);
  for (const { seller, buyer } of graph.pairs) {
    counts[seller] = (counts[seller] as number) + 1;
    counts[buyer] = (counts[buyer] as number) + 1;
  }
  return Math.max(0, ...counts);
}

/** Public zeros in place of the given positions: what every node knows there is nothing. */
function zeroAt(x: Shared, positions: ReadonlySet<number>): Shared {
  if (positions.size === 0) return x;
  const own = x.own.slice();
  const next = x.next.slice();
  for (const k of positions) {
    own[k] = 0n;
    next[k] = 0n;
  }
  return { own, next };
}

/**
 * The community auction on every household twice, as a buyer and as a seller, each side in ascending
 * id order (the order the rationing hands out leftover Wh in); with zones, by market splitting.
 */
async function clearCommunity(
  party: Party,
  terms: SlotTerms,
  book: { buy: SharedSide; sell: SharedSide },
): Promise<{ public: Omit<SlotPublic, "refused">; fills: Shared }> {
  const n = terms.households.length;
  const everyone = Array.from({ length: n }, (_, h) => h);
  const band: PriceBand = { feedIn: terms.prices.feedIn, retail: terms.prices.retail };
  if (terms.zones === undefined) {
    const clearing = await clearBook(party, book.buy, book.sell, VOLUME_BITS, {
      band,
      limits: band,
      anyPriceBuyWh: 0n,
      anyPriceSellWh: 0n,
    });
    return {
      public: { clearingPrice: clearing.clearingPrice, volumeWh: clearing.volumeWh.toString() },
      fills: clearing.fills,
    };
  }
  const orders = [
    ...terms.households.map((h) => ({
      id: h.id,
      side: "buy" as const,
      ...(h.zone === undefined ? {} : { zone: h.zone }),
    })),
    ...terms.households.map((h) => ({
      id: h.id,
      side: "sell" as const,
      ...(h.zone === undefined ? {} : { zone: h.zone }),
    })),
  ];
  const plan = planClear(orders, terms.prices, terms.zones);
  const zones = plan.params.zones ?? [];
  const orderZones = plan.params.orderZones ?? [];
  const clearing = await splitMarketPrivately(
    party,
    {
      buy: {
        side: assembleSide(party, book.buy, everyone),
        zoneOf: everyone.map((h) => orderZones[h] as number),
        positions: everyone,
      },
      sell: {
        side: assembleSide(party, book.sell, everyone),
        zoneOf: everyone.map((h) => orderZones[n + h] as number),
        positions: everyone,
      },
      zones,
      band,
    },
    VOLUME_BITS,
  );
  // Zones come back in id order; the terms list them in their own order.
  const outcomes = new Array<{ clearingPrice: number | null; netExportWh: string }>(terms.zones.length);
  plan.zoneOrder.forEach((position, index) => {
    const zone = clearing.zones[index];
    outcomes[position] = {
      clearingPrice: zone?.clearingPrice ?? null,
      netExportWh: (zone?.netExportWh ?? 0n).toString(),
    };
  });
  return {
    public: {
      clearingPrice: clearing.clearingPrice,
      volumeWh: clearing.volumeWh.toString(),
      zones: outcomes,
    },
    fills: clearing.fills,
  };
}
