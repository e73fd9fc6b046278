/**
 * Limit prices of a planning agent's community order, from what each part of the slot's position is
 * worth (docs/strategic-bidding.md). Energy the household must buy or sell anyway is priced at the
 * supplier's terms, its outside option: a buyer pays up to retail minus the network fee (the fee comes
 * on top of the community price), a seller accepts down to feed-in. Energy a device moves into the
 * slot only because the plan found the slot worth it is priced at the plan's marginal value of that
 * energy. The order's limit is the volume-weighted mean, as a representative prices an aggregate.
 * @module
 */
import type { Side } from "../market/index.ts";
import type { Tariff } from "./forecast.ts";

/** Energy a device moves in the slot and what it is worth, price units per kWh (imports with the fee). */
export interface FlexiblePart {
  readonly wh: number;
  readonly value: number;
}

/** The limit of an order of `volumeWh` on `side`, whose flexible parts come first in its volume. */
export function limitPrice(
  side: Side,
  volumeWh: number,
  flexible: readonly FlexiblePart[],
  tariff: Tariff,
): number {
  const { feedIn, retail, networkFee } = tariff;
  const ceiling = Math.max(feedIn, retail - networkFee);
  const outside = side === "buy" ? ceiling : feedIn;
  if (volumeWh <= 0) return outside;
  let flexibleWh = 0;
  let flexibleValue = 0;
  for (const part of flexible) {
    const wh = Math.min(part.wh, volumeWh - flexibleWh);
    if (wh <= 0) continue;
    flexibleWh += wh;
    // What a buyer pays is the clearing price plus the fee, so its value in clearing-price terms is net of it.
    flexibleValue += wh * (side === "buy" ? part.value - networkFee : part.value);
  }
  const limit = (flexibleValue + (volumeWh - flexibleWh) * outside) / volumeWh;
  return Math.round(Math.min(side === "buy" ? ceiling : retail, Math.max(feedIn, limit)));
}
