/**
 * Reference Universal Cost Split billing of one slot (spec/billing.md): commitment parts at the
 * committed prices, deviations at the deviation price, and the pool `(retail − DP)·(−TD)` or
 * `(DP − feedIn)·TD` shared among the households that caused it. Money is exact (bigint).
 * @module
 */
import { cost, type Money, money } from "../units/index.ts";
import type { BillingModel, BillingSlot, HouseholdSlot, HouseholdSlotBill, SlotBilling } from "./types.ts";

const ZERO = money(0n);

/** The deviation price: `p*`, or the middle of the tariffs when the slot had no community trade. */
export function deviationPrice(slot: Pick<BillingSlot, "prices" | "clearingPrice">): number {
  return slot.clearingPrice ?? Math.floor((slot.prices.feedIn + slot.prices.retail) / 2);
}

/** A household's committed import `b_k` and export `s_k`, Wh. */
export function committedTotals(household: HouseholdSlot): { importWh: number; exportWh: number } {
  const c = household.committed;
  let importWh = c.communityBuyWh + c.supplierBuyWh;
  let exportWh = c.communitySellWh + c.supplierSellWh;
  for (const trade of c.bilateral) {
    if (trade.side === "buy") importWh += trade.volumeWh;
    else exportWh += trade.volumeWh;
  }
  return { importWh, exportWh };
}

/**
 * Bills every household of one slot.
 * @param slot a validated slot (see {@link parseBillRequest}).
 * @param model how each deviation pool is shared: equally (`ucs-uniform`) or by `|d_k|` (`ucs-proportional`).
 */
export function billSlot(slot: BillingSlot, model: BillingModel): SlotBilling {
  const { feedIn, retail } = slot.prices;
  const dp = deviationPrice(slot);
  const deviations = slot.households.map(deviationOf);

  let totalDeviationWh = 0;
  for (const d of deviations) if (d !== null) totalDeviationWh += d;
  // Only the side that caused the net deviation shares its cost: short households when the community
  // fell short (TD < 0), surplus households when it over-delivered (TD > 0).
  const sharingSign = Math.sign(totalDeviationWh);
  const pool =
    sharingSign < 0
      ? cost(-totalDeviationWh, retail - dp)
      : sharingSign > 0
        ? cost(totalDeviationWh, dp - feedIn)
        : ZERO;
  let sharers = 0;
  let sharedDeviationWh = 0;
  for (const d of deviations) {
    if (d !== null && d !== 0 && Math.sign(d) === sharingSign) {
      sharers++;
      sharedDeviationWh += Math.abs(d);
    }
  }
  const shareOf = (d: number): Money => {
    if (sharingSign === 0 || Math.sign(d) !== sharingSign) return ZERO;
    return model === "ucs-uniform"
      ? money(pool / BigInt(sharers))
      : money((pool * BigInt(Math.abs(d))) / BigInt(sharedDeviationWh));
  };

  let supplierDeviationMoney = ZERO;
  const bills = slot.households.map((household, index): HouseholdSlotBill => {
    const d = deviations[index] as number | null;
    if (d === null) return plainTariffBill(household, slot);
    const deviationMoney = money(shareOf(d) - cost(d, dp));
    supplierDeviationMoney = money(supplierDeviationMoney + deviationMoney);
    return commitmentBill(household, slot, d, deviationMoney);
  });
  return { slot: slot.slot, bills, totalDeviationWh, supplierDeviationMoney };
}

/** `d_k = (exp − s) − (imp − b)`, or null for a household without commitments. */
function deviationOf(household: HouseholdSlot): number | null {
  const committed = committedTotals(household);
  if (committed.importWh === 0 && committed.exportWh === 0) return null;
  const { importWh, exportWh } = household.metered;
  return exportWh - committed.exportWh - (importWh - committed.importWh);
}

function plainTariffBill(household: HouseholdSlot, slot: BillingSlot): HouseholdSlotBill {
  const { importWh, exportWh } = household.metered;
  const plain = money(cost(importWh, slot.prices.retail) - cost(exportWh, slot.prices.feedIn));
  return {
    id: household.id,
    deviationWh: 0,
    money: plain,
    communityMoney: ZERO,
    bilateralMoney: ZERO,
    supplierMoney: ZERO,
    networkFeeMoney: ZERO,
    deviationMoney: ZERO,
    plainTariffMoney: plain,
  };
}

function commitmentBill(
  household: HouseholdSlot,
  slot: BillingSlot,
  deviationWh: number,
  deviationMoney: Money,
): HouseholdSlotBill {
  const c = household.committed;
  const { feedIn, retail, networkFee } = slot.prices;
  // A household with community volume always has a clearing price: validation guarantees it.
  const clearingPrice = slot.clearingPrice ?? 0;
  const communityMoney = money(
    cost(c.communityBuyWh, clearingPrice) - cost(c.communitySellWh, clearingPrice),
  );
  let bilateralMoney = ZERO;
  let peerBoughtWh = c.communityBuyWh;
  for (const trade of c.bilateral) {
    if (trade.side === "buy") {
      bilateralMoney = money(bilateralMoney + cost(trade.volumeWh, trade.price));
      peerBoughtWh += trade.volumeWh;
    } else bilateralMoney = money(bilateralMoney - cost(trade.volumeWh, trade.price));
  }
  const supplierMoney = money(cost(c.supplierBuyWh, retail) - cost(c.supplierSellWh, feedIn));
  const networkFeeMoney = cost(peerBoughtWh, networkFee);
  return {
    id: household.id,
    deviationWh,
    money: money(communityMoney + bilateralMoney + supplierMoney + networkFeeMoney + deviationMoney),
    communityMoney,
    bilateralMoney,
    supplierMoney,
    networkFeeMoney,
    deviationMoney,
    plainTariffMoney: ZERO,
  };
}
