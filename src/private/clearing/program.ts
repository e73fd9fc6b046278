/**
 * The `clear` program the nodes run for one slot: validate every order inside MPC and drop the
 * invalid ones by position, apply the DSO's connection caps, clear the community auction, and
 * return each order's fill (and whether its cap bound) as shares for its household.
 * @module
 */
import { z } from "zod";
import { concat, mul, open, publicShared, type Shared, slice, sub } from "../../mpc/arithmetic.ts";
import { lessThanZero, oneMinus } from "../../mpc/compare.ts";
import type { Party } from "../../mpc/party.ts";
import type { Program } from "../../mpc/programs.ts";
import { MAX_ENERGY_WH } from "../../units/index.ts";
import { integerField, priceField } from "../../validation/index.ts";
import { clearBook } from "./auction.ts";
import { assembleSide, bookInputWords, limitValues, loadBook } from "./book.ts";
import { splitMarketPrivately } from "./zones.ts";

/** Bits of every volume after validation: the spec's bound of 2^32 − 1 Wh. */
const VOLUME_BITS = 32;

const MAX_ORDERS = 1_000_000;
/** Feeder zones of one slot: a DSO's low-voltage feeders, and pairwise comparisons stay small. */
const MAX_ZONES = 256;
const countField = integerField(0, MAX_ORDERS, "not a count", `above ${MAX_ORDERS}`);

/** The public parameters of one slot's clearing. */
const zoneTermsSchema = z.strictObject({
  exportLimitWh: integerField(0, MAX_ENERGY_WH, "not a limit", "above the energy bound"),
  importLimitWh: integerField(0, MAX_ENERGY_WH, "not a limit", "above the energy bound"),
  buysBefore: countField,
  sellsBefore: countField,
});

export const clearParamsSchema = z
  .strictObject({
    buys: countField,
    sells: countField,
    feedIn: priceField,
    retail: priceField,
    /** Connection cap per order (buys, then sells), or null for none. */
    caps: z
      .array(z.union([z.null(), integerField(0, MAX_ENERGY_WH, "not a cap", "above the energy bound")]))
      .optional(),
    /** Feeder zones in ascending id order (zones.ts), with `orderZones`: each order's zone (buys, then sells). */
    zones: z.array(zoneTermsSchema).min(1, { error: "lists no zone" }).max(MAX_ZONES).optional(),
    orderZones: z
      .array(integerField(0, MAX_ZONES - 1, "not a zone index", "above the zone count"))
      .optional(),
  })
  .refine((p) => p.caps === undefined || p.caps.length === p.buys + p.sells, {
    error: "caps must list one entry per order (buys, then sells)",
    path: ["caps"],
  })
  .refine((p) => p.feedIn <= p.retail, { error: "feedIn is above retail", path: ["feedIn"] })
  .refine((p) => (p.zones === undefined) === (p.orderZones === undefined), {
    error: "zones and orderZones come together",
    path: ["orderZones"],
  })
  .refine((p) => p.orderZones === undefined || p.orderZones.length === p.buys + p.sells, {
    error: "orderZones must list one zone per order (buys, then sells)",
    path: ["orderZones"],
  })
  .refine((p) => p.orderZones === undefined || p.orderZones.every((zone) => zone < (p.zones?.length ?? 0)), {
    error: "orderZones names a zone that zones does not list",
    path: ["orderZones"],
  })
  .refine((p) => (p.zones ?? []).every((zone) => zone.buysBefore <= p.buys && zone.sellsBefore <= p.sells), {
    error: "a zone's buysBefore or sellsBefore is above the order count",
    path: ["zones"],
  });
export type ClearParams = z.infer<typeof clearParamsSchema>;

/** What the nodes publish: all of it allowed by spec/market.md, plus the positions of refused orders. */
export interface ClearPublic {
  clearingPrice: number | null;
  volumeWh: string;
  /** Positions (buys, then sells) of orders that failed validation. */
  refused: number[];
  /** With zones: each zone's price and net export (Wh, negative: import), in the order of the params. */
  zones?: { clearingPrice: number | null; netExportWh: string }[];
}

/**
 * Inputs: the book of book.ts, each side sorted by id. Outputs per order (buys, then sells): its
 * fill, then (after all fills) 1 where its connection cap bound.
 */
export const clearProgram: Program<ClearParams> = {
  description: "one slot's community auction (spec/market.md stage 2) with validation and connection caps",
  params: clearParamsSchema,
  inputWords: ({ buys, sells }) => bookInputWords(buys, sells),
  async run(party, params, inputs) {
    const { buys, sells } = params;
    const { buy, sell } = await loadBook(party, inputs, buys, sells);
    const volumes = concat([buy.volumes, sell.volumes]);
    const limits = concat([limitValues(buy, false, party), limitValues(sell, true, party)]);
    const caps = params.caps ?? new Array<number | null>(buys + sells).fill(null);
    const { valid, capped, bound } = await validateAndCap(party, volumes, limits, caps, params);
    const validPositions = (from: number, to: number) => {
      const kept: number[] = [];
      for (let position = from; position < to; position++)
        if (valid[position] === 1n) kept.push(position - from);
      return kept;
    };
    const [keptBuys, keptSells] = [validPositions(0, buys), validPositions(buys, buys + sells)];
    const band = { feedIn: params.feedIn, retail: params.retail };
    const keptBuySide = assembleSide(party, buy, keptBuys, slice(capped, 0, buys));
    const keptSellSide = assembleSide(party, sell, keptSells, slice(capped, buys, buys + sells));
    const refused: number[] = [];
    for (let position = 0; position < valid.length; position++)
      if (valid[position] !== 1n) refused.push(position);
    const { zones, orderZones } = params;
    const clearing =
      zones === undefined || orderZones === undefined
        ? await clearBook(party, keptBuySide, keptSellSide, VOLUME_BITS, {
            band,
            limits: band,
            anyPriceBuyWh: 0n,
            anyPriceSellWh: 0n,
          })
        : await splitMarketPrivately(
            party,
            {
              buy: {
                side: keptBuySide,
                zoneOf: keptBuys.map((k) => orderZones[k] as number),
                positions: keptBuys,
              },
              sell: {
                side: keptSellSide,
                zoneOf: keptSells.map((k) => orderZones[buys + k] as number),
                positions: keptSells,
              },
              zones,
              band,
            },
            VOLUME_BITS,
          );
    const fills = scatter(clearing.fills, [...keptBuys, ...keptSells.map((k) => buys + k)], buys + sells);
    const result: ClearPublic = {
      clearingPrice: clearing.clearingPrice,
      volumeWh: clearing.volumeWh.toString(),
      refused,
      ...("zones" in clearing
        ? {
            zones: clearing.zones.map((zone) => ({
              clearingPrice: zone.clearingPrice,
              netExportWh: zone.netExportWh.toString(),
            })),
          }
        : {}),
    };
    return { public: result, outputs: concat([fills, bound]) };
  },
};

/**
 * One comparison call for every check: 1 ≤ v ≤ 2^32 − 1 and feedIn ≤ limit ≤ retail (as 64-bit
 * signed differences, so any ring element a client sends is judged right), and v > cap where a cap
 * is set. The validity bits are opened — the nodes learn which orders are refused, not why.
 */
async function validateAndCap(
  party: Party,
  volumes: Shared,
  limits: Shared,
  caps: readonly (number | null)[],
  params: ClearParams,
): Promise<{ valid: BigUint64Array; capped: Shared; bound: Shared }> {
  const n = volumes.own.length;
  const constant = (value: bigint) =>
    publicShared(party.id, new BigUint64Array(n).fill(BigInt.asUintN(64, value)));
  const capWords = new BigUint64Array(caps.map((cap) => BigInt(cap ?? MAX_ENERGY_WH)));
  // Without any cap, no volume can exceed one: the nodes know, so they skip that check.
  const anyCap = caps.some((cap) => cap !== null);
  const checks = concat([
    sub(volumes, constant(1n)),
    sub(constant(BigInt(MAX_ENERGY_WH)), volumes),
    sub(limits, constant(BigInt(params.feedIn))),
    sub(constant(BigInt(params.retail)), limits),
    ...(anyCap ? [sub(publicShared(party.id, capWords), volumes)] : []),
  ]);
  const negative = await lessThanZero(party, checks, 64);
  const ok = (k: number) => oneMinus(party, slice(negative, k * n, (k + 1) * n));
  const over = anyCap ? slice(negative, 4 * n, 5 * n) : zerosOf(n);
  // valid = ok0·ok1·ok2·ok3 in two rounds; the capped volume v − over·(v − cap) rides in the first.
  const first = await mul(
    party,
    concat([ok(0), ok(2), over]),
    concat([ok(1), ok(3), sub(volumes, publicShared(party.id, capWords))]),
  );
  const validShared = await mul(party, slice(first, 0, n), slice(first, n, 2 * n));
  const valid = await open(party, validShared);
  return { valid, capped: sub(volumes, slice(first, 2 * n, 3 * n)), bound: over };
}

function zerosOf(n: number): Shared {
  return { own: new BigUint64Array(n), next: new BigUint64Array(n) };
}

/** Shares placed at the given positions of an n-long vector, zero elsewhere. */
function scatter(values: Shared, positions: readonly number[], n: number): Shared {
  const own = new BigUint64Array(n);
  const next = new BigUint64Array(n);
  positions.forEach((position, k) => {
    own[position] = values.own[k] as bigint;
    next[position] = values.next[k] as bigint;
  });
  return { own, next };
}
