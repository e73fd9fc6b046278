/**
 * The community auction of spec/market.md stage 2 on secret orders: the public figures by the
 * searches of margins.ts, then every order's fill by exact rationing. Orders come sorted by id
 * within each side, the order the rationing rule hands out leftover Wh in.
 * @module
 */
import type { Shared } from "../arithmetic.ts";
import type { Party } from "../party.ts";
import { concatWords } from "../words.ts";
import type { SharedSide } from "./book.ts";
import { findMargins, type SideMargin } from "./margins.ts";
import { ration } from "./ration.ts";

/** What the nodes learn (all of it allowed by the spec) and the fills, still shared. */
export interface SharedClearing {
  volumeWh: bigint;
  clearingPrice: number | null;
  buyMargin: SideMargin | null;
  sellMargin: SideMargin | null;
  /** Buy fills then sell fills, in input order. */
  fills: Shared;
}

/** Clears a loaded book; `volumeBits` bounds every volume. */
export async function clearBook(
  party: Party,
  buy: SharedSide,
  sell: SharedSide,
  volumeBits: number,
): Promise<SharedClearing> {
  const [buys, sells] = [buy.count, sell.count];
  const margins = await findMargins(party, buy, sell, volumeBits);
  if (!("buys" in margins)) {
    const none = { own: new BigUint64Array(buys + sells), next: new BigUint64Array(buys + sells) };
    return { volumeWh: 0n, clearingPrice: null, buyMargin: null, sellMargin: null, fills: none };
  }
  const [buyFills, sellFills] = (await ration(
    party,
    [
      { ...margins.buys, sharedWh: margins.buy.sharedWh, marginalWh: margins.buy.marginalWh },
      { ...margins.sells, sharedWh: margins.sell.sharedWh, marginalWh: margins.sell.marginalWh },
    ],
    volumeBits,
  )) as [Shared, Shared];
  return {
    volumeWh: margins.volumeWh,
    clearingPrice: margins.clearingPrice,
    buyMargin: margins.buy,
    sellMargin: margins.sell,
    fills: {
      own: concatWords([buyFills.own, sellFills.own]),
      next: concatWords([buyFills.next, sellFills.next]),
    },
  };
}
