/**
 * Reference Universal Cost Split billing of one slot (spec/billing.md): implausible readings billed
 * as missing ones, commitment parts at the committed prices, deviations at the deviation price, and
 * the pool `(retail − DP)·(−TD)` or `(DP − feedIn)·TD` shared among the households that caused it.
 * Exact integer money throughout.
 * @module
 */
import { cost, ExactTotal, mulDivFloor, type SlotMoney } from "../units/index.ts";
import type {
  BillingModel,
  BillingSlot,
  HouseholdSlot,
  HouseholdSlotBill,
  ImplausibleReading,
  MeterReading,
  SlotBilling,
} from "./types.ts";

/** The deviation price: `p*`, or the middle of the tariffs when the slot had no community trade. */
export function deviationPrice(slot: Pick<BillingSlot, "prices" | "clearingPrice">): number {
  return slot.clearingPrice ?? Math.floor((slot.prices.feedIn + slot.prices.retail) / 2);
}

/** A household's committed import `b_k` and export `s_k`, Wh. */
export function committedTotals(household: HouseholdSlot): {
  importWh: number;
  exportWh: number;
} {
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
  const { households, implausible } = screenReadings(slot.households);
  const dp = deviationPrice(slot);
  const deviations = households.map(deviationOf);
  let totalDeviationWh = 0;
  for (const d of deviations) if (d !== null) totalDeviationWh += d;
  const pool = DeviationPool.of(slot, deviations, model);
  const supplierDeviationMoney = new ExactTotal();
  const bills = new Array<HouseholdSlotBill>(households.length);
  for (let i = 0; i < households.length; i++) {
    const household = households[i] as HouseholdSlot;
    const d = deviations[i] as number | null;
    if (d === null) {
      bills[i] = plainTariffBill(household, slot);
      continue;
    }
    const deviationMoney = pool.shareOf(d) - cost(d, dp);
    supplierDeviationMoney.add(deviationMoney);
    bills[i] = commitmentBill(household, slot, d, deviationMoney);
  }
  return {
    slot: slot.slot,
    bills,
    totalDeviationWh,
    supplierDeviationMoney: supplierDeviationMoney.value,
    implausible,
  };
}

/**
 * Why a household's reading cannot be what flowed (spec/billing.md, plausible readings): its import
 * or its export is above what its connection can physically carry in the slot. Null when it is
 * plausible, or when the connection's physical capacity is not known (no bound). The DSO's trading
 * cap bounds orders, not readings: a household may draw more than it may trade.
 */
export function implausibility(
  household: Pick<HouseholdSlot, "metered" | "physicalCapacityWh">,
): string | null {
  const capacityWh = household.physicalCapacityWh;
  if (capacityWh === undefined) return null;
  const { importWh, exportWh } = household.metered;
  return importWh > capacityWh || exportWh > capacityWh ? aboveCapacity(capacityWh) : null;
}

/**
 * What an implausible reading is reported with. Only the public capacity, not which value is over:
 * the nodes, which learn no more than one bit per meter, report it in the same words.
 */
export function aboveCapacity(capacityWh: number): string {
  return `the reading is above the connection's physical capacity of ${capacityWh} Wh for the slot`;
}

/**
 * The slot's households as billed, and the readings refused: each implausible reading is replaced by
 * the estimate of a missing one before anything is summed, so TD, the pool and every other
 * household's bill are those of the meter having read the household's commitment — a broken meter's
 * reading never spreads into the neighbours' bills.
 */
export function screenReadings(households: readonly HouseholdSlot[]): {
  households: readonly HouseholdSlot[];
  implausible: ImplausibleReading[];
} {
  const implausible: ImplausibleReading[] = [];
  let screened: HouseholdSlot[] | undefined;
  households.forEach((household, h) => {
    const reason = implausibility(household);
    if (reason === null) return;
    implausible.push({ id: household.id, reason });
    // Copied on the first refusal only: most slots have none, and billing runs slot after slot.
    screened ??= [...households];
    screened[h] = { ...household, metered: estimatedReading(household.committed) };
  });
  return { households: screened ?? households, implausible };
}

/**
 * The cost of a slot's net deviation and who shares it. Only the side that caused it pays: short
 * households when the community fell short (TD < 0), at (retail − DP) per missing Wh; surplus
 * households when it over-delivered (TD > 0), giving up (DP − feedIn) per extra Wh.
 *
 * A household's share depends only on its own deviation and three slot aggregates (TD, and the
 * sharers' count or their total |d|): private billing opens just those, and the bill's recipient
 * computes the share from them.
 */
export class DeviationPool {
  private readonly poolWh: number;
  private readonly pricePerWh: number;

  /**
   * @param sharers how many households are on the side that caused TD.
   * @param sharedDeviationWh the sum of their |d|.
   */
  constructor(
    slot: Pick<BillingSlot, "prices" | "clearingPrice">,
    readonly totalDeviationWh: number,
    readonly sharers: number,
    readonly sharedDeviationWh: number,
    private readonly model: BillingModel,
  ) {
    const dp = deviationPrice(slot);
    this.poolWh = Math.abs(totalDeviationWh);
    this.pricePerWh = totalDeviationWh < 0 ? slot.prices.retail - dp : dp - slot.prices.feedIn;
  }

  /** The pool of a slot whose households' deviations are known (null: no commitments). */
  static of(
    slot: Pick<BillingSlot, "prices" | "clearingPrice">,
    deviations: readonly (number | null)[],
    model: BillingModel,
  ): DeviationPool {
    let totalDeviationWh = 0;
    for (const d of deviations) if (d !== null) totalDeviationWh += d;
    let sharers = 0;
    let sharedDeviationWh = 0;
    for (const d of deviations) {
      if (d === null || !sharesPool(totalDeviationWh, d)) continue;
      sharers++;
      sharedDeviationWh += Math.abs(d);
    }
    return new DeviationPool(slot, totalDeviationWh, sharers, sharedDeviationWh, model);
  }

  /** What the pool holds, money units: TD's cost. */
  get money(): bigint {
    return BigInt(this.poolWh) * BigInt(this.pricePerWh);
  }

  /** The household's share of the pool, floored to whole money units. */
  shareOf(d: number): SlotMoney {
    if (!sharesPool(this.totalDeviationWh, d)) return 0;
    return this.model === "ucs-uniform"
      ? this.uniformShare()
      : mulDivFloor([this.poolWh, this.pricePerWh, Math.abs(d)], this.sharedDeviationWh);
  }

  /** Each sharer's share under `ucs-uniform` (0 when nobody shares). */
  uniformShare(): SlotMoney {
    return this.sharers === 0 ? 0 : mulDivFloor([this.poolWh, this.pricePerWh], this.sharers);
  }
}

/** Whether a household with deviation `d` is on the side that caused TD. */
function sharesPool(totalDeviationWh: number, d: number): boolean {
  return totalDeviationWh !== 0 && Math.sign(d) === Math.sign(totalDeviationWh);
}

/** `d_k = (exp − s) − (imp − b)`, or null for a household without commitments. */
function deviationOf(household: HouseholdSlot): number | null {
  const committed = committedTotals(household);
  if (committed.importWh === 0 && committed.exportWh === 0) return null;
  const { importWh, exportWh } = household.metered;
  return exportWh - committed.exportWh - (importWh - committed.importWh);
}

/**
 * The reading billed for a slot whose meter never reported, or reported an implausible reading
 * (spec rule of this product): the household's committed net position, so its deviation is 0 — it
 * neither pays for nor profits from the others' deviations, and the supplier's balance is what the
 * meters that did report make it. The slot is marked estimated; a reading that comes later replaces
 * it on re-billing.
 */
export function estimatedReading(committed: HouseholdSlot["committed"]): MeterReading {
  const { importWh, exportWh } = committedTotals({
    id: "",
    committed,
    metered: { importWh: 0, exportWh: 0 },
  });
  return importWh >= exportWh
    ? { importWh: importWh - exportWh, exportWh: 0 }
    : { importWh: 0, exportWh: exportWh - importWh };
}

/** What metered energy costs at the plain tariff: import at retail, export at feed-in. */
export function plainTariffMoney(
  metered: MeterReading,
  prices: Pick<BillingSlot["prices"], "feedIn" | "retail">,
): SlotMoney {
  return cost(metered.importWh, prices.retail) - cost(metered.exportWh, prices.feedIn);
}

function plainTariffBill(household: HouseholdSlot, slot: BillingSlot): HouseholdSlotBill {
  const plain = plainTariffMoney(household.metered, slot.prices);
  return {
    id: household.id,
    deviationWh: 0,
    money: plain,
    communityMoney: 0,
    bilateralMoney: 0,
    supplierMoney: 0,
    networkFeeMoney: 0,
    deviationMoney: 0,
    plainTariffMoney: plain,
  };
}

function commitmentBill(
  household: HouseholdSlot,
  slot: BillingSlot,
  deviationWh: number,
  deviationMoney: SlotMoney,
): HouseholdSlotBill {
  const parts = commitmentParts(household, slot);
  return {
    id: household.id,
    deviationWh,
    money:
      parts.communityMoney +
      parts.bilateralMoney +
      parts.supplierMoney +
      parts.networkFeeMoney +
      deviationMoney,
    ...parts,
    deviationMoney,
    plainTariffMoney: 0,
  };
}

/**
 * What a household's commitments cost at their prices, by stage, and the network fee on its peer
 * purchases: all its own data and public prices (zero for a household without commitments).
 */
export function commitmentParts(
  household: HouseholdSlot,
  slot: Pick<BillingSlot, "prices" | "clearingPrice">,
): Pick<HouseholdSlotBill, "communityMoney" | "bilateralMoney" | "supplierMoney" | "networkFeeMoney"> {
  const c = household.committed;
  const { feedIn, retail, networkFee } = slot.prices;
  // A household with community volume always has a price: validation guarantees it.
  const communityMoney = cost(
    c.communityBuyWh - c.communitySellWh,
    c.communityPrice ?? slot.clearingPrice ?? 0,
  );
  let bilateralMoney = 0;
  let peerBoughtWh = c.communityBuyWh;
  for (const trade of c.bilateral) {
    if (trade.side === "buy") {
      bilateralMoney += cost(trade.volumeWh, trade.price);
      peerBoughtWh += trade.volumeWh;
    } else bilateralMoney -= cost(trade.volumeWh, trade.price);
  }
  const supplierMoney = cost(c.supplierBuyWh, retail) - cost(c.supplierSellWh, feedIn);
  const networkFeeMoney = cost(peerBoughtWh, networkFee);
  return { communityMoney, bilateralMoney, supplierMoney, networkFeeMoney };
}
