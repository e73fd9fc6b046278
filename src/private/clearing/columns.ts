/**
 * Each household's billing columns, computed on shares at the end of a slot's clearing so that the
 * nodes can bill the slot later from what they keep (COMMITMENT_COLUMNS): what it bought and sold in
 * the community, from its partners and from its supplier, its partners' money, and its community
 * order and limit — stage 3 of spec/market.md as the household's own device works it out
 * (`outcomeOf` in roles/household/intent.ts), never opened.
 * @module
 */
import { add, concat, mul, mulPairs, publicShared, type Shared, slice, sub } from "../../mpc/arithmetic.ts";
import { equalsZero, oneMinus } from "../../mpc/compare.ts";
import type { Party } from "../../mpc/party.ts";
import { COMMITMENT_COLUMNS } from "../billing/layout.ts";
import { gather } from "../shares.ts";
import type { BilateralPair } from "./bilateral.ts";

/** Bits of a community volume (below 2^32) and one more: enough to tell it from zero. */
const ORDER_BITS = 33;

/** What the clearing computed that the columns are made of, each a shared vector over households or pairs. */
export interface ClearedSlotShares {
  readonly pairs: readonly BilateralPair[];
  /** Each household's community fill as a buyer and as a seller (one of them 0). */
  readonly buyFillWh: Shared;
  readonly sellFillWh: Shared;
  /** Each pair's traded volume and the money its buyer owes its seller. */
  readonly pairVolumeWh: Shared;
  readonly pairMoney: Shared;
  /** Each household's volumes after its connection cap; public zeros for a refused intent. */
  readonly buyWh: Shared;
  readonly sellWh: Shared;
  /** What it put to the community after the bilateral stage (0 outside its trading window). */
  readonly communityBuyWh: Shared;
  readonly communitySellWh: Shared;
  /** Its limit as a buyer and as a seller, in price units. */
  readonly buyLimit: Shared;
  readonly sellLimit: Shared;
  /** Households whose intent failed validation (public), with what they asked for after the cap… */
  readonly refused: readonly number[];
  readonly refusedBuyWh: Shared;
  readonly refusedSellWh: Shared;
  /** …and per household [buyWh < 0], [max − buyWh < 0], [sellWh < 0], [max − sellWh < 0] of its words. */
  readonly volumeChecks: readonly [Shared, Shared, Shared, Shared];
}

/**
 * The columns of every household, column-major in COMMITMENT_COLUMNS order (column k at k·n).
 *
 * - Community: its fills. Bilateral: the sums over its pairs as buyer and as seller; its money is
 *   what it owes as a buyer less what it is owed as a seller.
 * - Supplier: what is left of its capped volume, as the household's device computes it.
 * - Order: its community volume, + buy or − sell; limit: [order ≠ 0] times its limit on that side.
 * - A refused intent trades with its supplier alone, for its capped volume as the household's device
 *   takes it, and only where its volume words are within 0..2^32 − 1 Wh: a malformed word a
 *   device cannot have meant (a negative or huge volume) would reach every neighbour's bill through
 *   TD, so it counts as no volume. The household has no order.
 */
export async function commitmentColumns(party: Party, slot: ClearedSlotShares): Promise<Shared> {
  const n = slot.buyWh.own.length;
  const [bilateralBuyWh, bilateralSellWh, bilateralMoney] = pairSums(n, slot);
  const [orderPrices, refusedSupplier] =
    n === 0
      ? [publicShared(party.id, new BigUint64Array(0)), undefined]
      : await ordersAndRefusals(party, slot);
  let supplierBuyWh = sub(sub(slot.buyWh, bilateralBuyWh), slot.buyFillWh);
  let supplierSellWh = sub(sub(slot.sellWh, bilateralSellWh), slot.sellFillWh);
  if (refusedSupplier !== undefined) {
    supplierBuyWh = scatterAdd(supplierBuyWh, slot.refused, refusedSupplier.buyWh);
    supplierSellWh = scatterAdd(supplierSellWh, slot.refused, refusedSupplier.sellWh);
  }
  const columns: Record<(typeof COMMITMENT_COLUMNS)[number], Shared> = {
    communityBuyWh: slot.buyFillWh,
    communitySellWh: slot.sellFillWh,
    supplierBuyWh,
    supplierSellWh,
    bilateralBuyWh,
    bilateralSellWh,
    bilateralMoney,
    orderWh: sub(slot.communityBuyWh, slot.communitySellWh),
    limitPrice: add(slice(orderPrices, 0, n), slice(orderPrices, n, 2 * n)),
  };
  return concat(COMMITMENT_COLUMNS.map((name) => columns[name]));
}

/** Per household: what it bought from partners, what it sold them, and the money (local sums). */
function pairSums(n: number, slot: ClearedSlotShares): [Shared, Shared, Shared] {
  const sums = [0, 1, 2].map(() => ({ own: new BigUint64Array(n), next: new BigUint64Array(n) })) as [
    Shared,
    Shared,
    Shared,
  ];
  const [bought, sold, money] = sums;
  slot.pairs.forEach(({ seller, buyer }, k) => {
    for (const part of ["own", "next"] as const) {
      const volume = slot.pairVolumeWh[part][k] as bigint;
      const paid = slot.pairMoney[part][k] as bigint;
      bought[part][buyer] = (bought[part][buyer] as bigint) + volume;
      sold[part][seller] = (sold[part][seller] as bigint) + volume;
      money[part][buyer] = (money[part][buyer] as bigint) + paid;
      money[part][seller] = (money[part][seller] as bigint) - paid;
    }
  });
  return sums;
}

/**
 * [order ≠ 0]·limit on each side (2n values, buy then sell), and the refused households' supplier
 * volumes (none without a refusal); their first products share a round.
 */
async function ordersAndRefusals(
  party: Party,
  slot: ClearedSlotShares,
): Promise<[Shared, { buyWh: Shared; sellWh: Shared } | undefined]> {
  const none = await equalsZero(party, concat([slot.communityBuyWh, slot.communitySellWh]), ORDER_BITS);
  const at = (x: Shared) => gather(x, slot.refused);
  const inRange = slot.volumeChecks.map((bit) => oneMinus(party, at(bit))) as [
    Shared,
    Shared,
    Shared,
    Shared,
  ];
  const refusing = slot.refused.length > 0;
  // Round 1: the limits; and whether each refused household's buy word, and its sell word, is in range.
  const [prices, buyInRange, sellInRange] = await mulPairs(
    party,
    [oneMinus(party, none), ...(refusing ? [inRange[0], inRange[2]] : [])],
    [concat([slot.buyLimit, slot.sellLimit]), ...(refusing ? [inRange[1], inRange[3]] : [])],
  );
  if (!refusing) return [prices as Shared, undefined];
  // Rounds 2 and 3: each capped volume times both (a product of three).
  const [buyTimesBuy, sellTimesBuy] = await mulPairs(
    party,
    [at(slot.refusedBuyWh), at(slot.refusedSellWh)],
    [buyInRange as Shared, buyInRange as Shared],
  );
  const supplied = await mul(
    party,
    concat([buyTimesBuy as Shared, sellTimesBuy as Shared]),
    concat([sellInRange as Shared, sellInRange as Shared]),
  );
  const k = slot.refused.length;
  return [prices as Shared, { buyWh: slice(supplied, 0, k), sellWh: slice(supplied, k, 2 * k) }];
}

/** x with y[k] added at position positions[k]. */
function scatterAdd(x: Shared, positions: readonly number[], y: Shared): Shared {
  const own = x.own.slice();
  const next = x.next.slice();
  positions.forEach((h, k) => {
    own[h] = (own[h] as bigint) + (y.own[k] as bigint);
    next[h] = (next[h] as bigint) + (y.next[k] as bigint);
  });
  return { own, next };
}
