/**
 * Stage 1 of spec/market.md: bilateral trades between nominated partners (a price of 0 is a
 * donation, e.g. to the local hospital), agreed between the two households only.
 * @module
 */
import { compareIds } from "./auction.ts";
import type { Side } from "./types.ts";

/** A seller's offer to one nominated buyer; a seller lists them in priority order. */
export interface PartnerOffer {
  readonly partner: string;
  /** Price units per kWh; 0 gives the energy away. */
  readonly price: number;
  /** The most Wh this partner may get in one slot. */
  readonly capWh: number;
}

/** A buyer's consent to take energy from one nominated seller. */
export interface PartnerAcceptance {
  readonly partner: string;
  /** The most Wh the buyer takes from this seller in one slot. */
  readonly capWh: number;
  /** The highest price it pays this seller; absent: whatever price the seller asks. */
  readonly maxPrice?: number;
}

/** A household's position for stage 1: what it must buy or may sell, and its partner lists. */
export interface BilateralPosition {
  readonly id: string;
  readonly side: Side;
  readonly volumeWh: number;
  readonly offers?: readonly PartnerOffer[];
  readonly accepts?: readonly PartnerAcceptance[];
}

/** One agreed bilateral trade. */
export interface BilateralTrade {
  readonly seller: string;
  readonly buyer: string;
  readonly volumeWh: number;
  readonly price: number;
}

/**
 * Matches the bilateral stage. Sellers go in ascending id order, each through its offers in its own
 * priority order; a pair trades `min(offer cap, acceptance cap, seller's remaining surplus, buyer's
 * remaining need)` when the buyer accepts that seller at the offered price.
 * @returns the trades, in the order they were agreed.
 */
export function matchBilateral(positions: readonly BilateralPosition[]): BilateralTrade[] {
  // Only households with partner lists can trade bilaterally: most have none, and are skipped.
  const buyers = new Map<string, BilateralPosition>();
  const sellers: BilateralPosition[] = [];
  for (const position of positions) {
    if (position.side === "buy" && position.accepts !== undefined && position.accepts.length > 0)
      buyers.set(position.id, position);
    if (position.side === "sell" && position.offers !== undefined && position.offers.length > 0)
      sellers.push(position);
  }
  sellers.sort((a, b) => compareIds(a.id, b.id));
  const remainingWh = new Map<string, number>();
  for (const position of [...sellers, ...buyers.values()]) remainingWh.set(position.id, position.volumeWh);
  // An acceptance caps the pair, however many offers the seller lists for the same partner.
  const pairTakenWh = new Map<string, number>();
  const trades: BilateralTrade[] = [];
  for (const seller of sellers) {
    for (const offer of seller.offers ?? []) {
      const buyer = buyers.get(offer.partner);
      const acceptance = buyer?.accepts?.find((accept) => accept.partner === seller.id);
      if (buyer === undefined || acceptance === undefined) continue;
      if (acceptance.maxPrice !== undefined && offer.price > acceptance.maxPrice) continue;
      const pair = JSON.stringify([seller.id, buyer.id]);
      const volumeWh = Math.min(
        offer.capWh,
        acceptance.capWh - (pairTakenWh.get(pair) ?? 0),
        remainingWh.get(seller.id) ?? 0,
        remainingWh.get(buyer.id) ?? 0,
      );
      if (volumeWh <= 0) continue;
      pairTakenWh.set(pair, (pairTakenWh.get(pair) ?? 0) + volumeWh);
      remainingWh.set(seller.id, (remainingWh.get(seller.id) ?? 0) - volumeWh);
      remainingWh.set(buyer.id, (remainingWh.get(buyer.id) ?? 0) - volumeWh);
      trades.push({ seller: seller.id, buyer: buyer.id, volumeWh, price: offer.price });
    }
  }
  return trades;
}
