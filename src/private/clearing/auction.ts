/**
 * The community auction of spec/market.md stage 2 on secret orders: the public figures by the
 * searches of margins.ts, then every order's fill by exact rationing. Orders come sorted by id
 * within each side, the order the rationing rule hands out leftover Wh in.
 * @module
 */
import type { Shared } from "../../mpc/arithmetic.ts";
import type { Party } from "../../mpc/party.ts";
import { concatWords } from "../../mpc/words.ts";
import { type SharedSide, zeros } from "./book.ts";
import { type AuctionTerms, findMargins, PLAIN_AUCTION, type SideMargin } from "./margins.ts";
import { ration } from "./ration.ts";

/** What the nodes learn (all of it allowed by the spec) and the fills, still shared. */
export interface SharedClearing {
  volumeWh: bigint;
  clearingPrice: number | null;
  buyMargin: SideMargin | null;
  sellMargin: SideMargin | null;
  /** Buy fills then sell fills, in input order. */
  fills: Shared;
  /** The fills of the flows that take any price ({@link AuctionTerms}): public, as their margin is. */
  anyPriceBuyFillWh: bigint;
  anyPriceSellFillWh: bigint;
}

/** Clears a loaded book; `volumeBits` bounds every volume. */
export async function clearBook(
  party: Party,
  buy: SharedSide,
  sell: SharedSide,
  volumeBits: number,
  terms: AuctionTerms = PLAIN_AUCTION,
): Promise<SharedClearing> {
  const margins = await findMargins(party, buy, sell, volumeBits, terms);
  if (!("buys" in margins)) {
    return {
      volumeWh: 0n,
      clearingPrice: null,
      buyMargin: null,
      sellMargin: null,
      fills: zeros(buy.count + sell.count),
      anyPriceBuyFillWh: 0n,
      anyPriceSellFillWh: 0n,
    };
  }
  // A side whose flow is the margin has nothing left to ration: its orders get nothing (`full` is zero).
  const sides = [margins.buys, margins.sells];
  const toRation = sides.filter((side) => side.marginalWh > 0n);
  const rationed = toRation.length > 0 ? await ration(party, toRation, volumeBits) : [];
  const [buyFills, sellFills] = sides.map((side) =>
    side.marginalWh > 0n ? (rationed.shift() as Shared) : side.full,
  ) as [Shared, Shared];
  // A flow beyond the margin fills in full; a flow that is the margin alone takes all of V*.
  const flowFill = (anyPriceWh: bigint) => (anyPriceWh < margins.volumeWh ? anyPriceWh : margins.volumeWh);
  return {
    volumeWh: margins.volumeWh,
    clearingPrice: margins.clearingPrice,
    buyMargin: margins.buy,
    sellMargin: margins.sell,
    fills: {
      own: concatWords([buyFills.own, sellFills.own]),
      next: concatWords([buyFills.next, sellFills.next]),
    },
    anyPriceBuyFillWh: flowFill(terms.anyPriceBuyWh),
    anyPriceSellFillWh: flowFill(terms.anyPriceSellWh),
  };
}
