/**
 * Billing over a period: the `snippet bill` result (slot bills and totals per household, the
 * supplier's deviation balance) and period statements (energy and money by stage, fees, deviation
 * charges, total, saving against the plain tariff).
 * @module
 */
import { ExactTotal, type Money, type SlotMoney } from "../units/index.ts";
import type {
  BillingModel,
  BillingSlot,
  BillRequest,
  HouseholdSlot,
  HouseholdSlotBill,
  SlotBilling,
} from "./types.ts";
import { billSlot, plainTariffMoney, screenReadings } from "./ucs.ts";

/** The billing period of a slot: its UTC calendar month, "2026-06". */
export function billingPeriodOf(slot: string): string {
  return slot.slice(0, 7);
}

/** Output of `snippet bill`: households in order of first appearance. */
export interface BillResult {
  readonly version: 1;
  readonly model: BillingModel;
  readonly bills: readonly {
    readonly id: string;
    readonly totalMoney: Money;
    readonly slots: readonly {
      readonly slot: string;
      readonly money: SlotMoney;
      readonly deviationWh: number;
      /** Present when the slot was billed at the household's commitment (its reading was refused). */
      readonly estimated?: true;
    }[];
  }[];
  readonly supplier: { readonly deviationMoney: Money };
  /** Readings refused as implausible, slot by slot; absent when there were none. */
  readonly implausible?: readonly { readonly slot: string; readonly id: string; readonly reason: string }[];
}

/** Bills every slot of a validated request (see {@link parseBillRequest}). */
export function billPeriod(request: BillRequest, model: BillingModel): BillResult {
  return summarizeBills(
    model,
    request.slots.map((slot) => billSlot(slot, model)),
  );
}

/** The `snippet bill` result of billed slots, whoever billed them (the reference, or the MPC nodes). */
export function summarizeBills(model: BillingModel, billings: readonly SlotBilling[]): BillResult {
  const bills = new Map<
    string,
    { total: ExactTotal; slots: BillResult["bills"][number]["slots"][number][] }
  >();
  const supplierDeviationMoney = new ExactTotal();
  const implausible: { slot: string; id: string; reason: string }[] = [];
  for (const billing of billings) {
    supplierDeviationMoney.add(Number(billing.supplierDeviationMoney));
    const refused = new Set<string>();
    for (const { id, reason } of billing.implausible) {
      implausible.push({ slot: billing.slot, id, reason });
      refused.add(id);
    }
    for (const bill of billing.bills) {
      let entry = bills.get(bill.id);
      if (entry === undefined) {
        entry = { total: new ExactTotal(), slots: [] };
        bills.set(bill.id, entry);
      }
      entry.total.add(bill.money);
      entry.slots.push({
        slot: billing.slot,
        money: bill.money,
        deviationWh: bill.deviationWh,
        ...(refused.has(bill.id) ? { estimated: true as const } : {}),
      });
    }
  }
  return {
    version: 1,
    model,
    bills: [...bills].map(([id, entry]) => ({ id, totalMoney: entry.total.value, slots: entry.slots })),
    supplier: { deviationMoney: supplierDeviationMoney.value },
    ...(implausible.length === 0 ? {} : { implausible }),
  };
}

/** Energy a household moved in a period, by stage, Wh. */
export interface StatementEnergy {
  communityBoughtWh: number;
  communitySoldWh: number;
  bilateralBoughtWh: number;
  bilateralSoldWh: number;
  /** Of the bilateral sales, those given away at price 0. */
  donatedWh: number;
  /** Of the bilateral purchases, those received at price 0. */
  donationsReceivedWh: number;
  supplierBoughtWh: number;
  supplierSoldWh: number;
  importedWh: number;
  exportedWh: number;
  /** Sum of `d_k` over the period. */
  deviationWh: number;
}

/** Money of a period by what it paid for; positive is owed, negative is paid to the household. */
export interface StatementMoney {
  readonly community: Money;
  readonly bilateral: Money;
  readonly supplier: Money;
  readonly networkFees: Money;
  readonly deviationCharges: Money;
  /** Slots without commitments, billed at the plain tariff. */
  readonly plainTariff: Money;
  readonly total: Money;
}

/** A household's period statement. */
export interface Statement {
  readonly id: string;
  readonly slots: number;
  readonly energy: StatementEnergy;
  readonly money: StatementMoney;
  /** What the same metered energy would have cost at the plain tariff (import at retail, export at feed-in). */
  readonly plainTariffBaseline: Money;
  /** `plainTariffBaseline − money.total`: positive when the community saved the household money. */
  readonly savingMoney: Money;
}

interface StatementTotals {
  slots: number;
  readonly energy: StatementEnergy;
  readonly money: { readonly [part in keyof StatementMoney]: ExactTotal };
  readonly plainTariffBaseline: ExactTotal;
}

/** Accumulates slot bills into per-household period statements, slot by slot, in constant memory per household. */
export class StatementBook {
  private readonly byHousehold = new Map<string, StatementTotals>();

  /**
   * Adds one billed slot; `billing` must be `billSlot(slot, …)` (only its bills are needed). A refused
   * reading counts as its estimate, in energy and in the plain-tariff baseline, as it was billed.
   */
  add(slot: BillingSlot, billing: Pick<SlotBilling, "bills">): void {
    const { households } = screenReadings(slot.households);
    for (let i = 0; i < households.length; i++) {
      const household = households[i] as HouseholdSlot;
      const bill = billing.bills[i];
      if (bill === undefined || bill.id !== household.id)
        throw new RangeError(`billing does not match slot ${slot.slot}`);
      const totals = this.totalsOf(household.id);
      totals.slots++;
      addEnergy(totals.energy, household, bill);
      const money = totals.money;
      money.community.add(bill.communityMoney);
      money.bilateral.add(bill.bilateralMoney);
      money.supplier.add(bill.supplierMoney);
      money.networkFees.add(bill.networkFeeMoney);
      money.deviationCharges.add(bill.deviationMoney);
      money.plainTariff.add(bill.plainTariffMoney);
      money.total.add(bill.money);
      totals.plainTariffBaseline.add(plainTariffMoney(household.metered, slot.prices));
    }
  }

  /** The statements so far, in order of first appearance. */
  statements(): Statement[] {
    return [...this.byHousehold].map(([id, totals]) => {
      const money = Object.fromEntries(
        Object.entries(totals.money).map(([part, total]) => [part, total.value]),
      ) as Record<keyof StatementMoney, Money>;
      const plainTariffBaseline = totals.plainTariffBaseline.value;
      return {
        id,
        slots: totals.slots,
        energy: { ...totals.energy },
        money,
        plainTariffBaseline,
        savingMoney: (plainTariffBaseline - money.total) as Money,
      };
    });
  }

  private totalsOf(id: string): StatementTotals {
    let totals = this.byHousehold.get(id);
    if (totals === undefined) {
      totals = {
        slots: 0,
        energy: {
          communityBoughtWh: 0,
          communitySoldWh: 0,
          bilateralBoughtWh: 0,
          bilateralSoldWh: 0,
          donatedWh: 0,
          donationsReceivedWh: 0,
          supplierBoughtWh: 0,
          supplierSoldWh: 0,
          importedWh: 0,
          exportedWh: 0,
          deviationWh: 0,
        },
        money: {
          community: new ExactTotal(),
          bilateral: new ExactTotal(),
          supplier: new ExactTotal(),
          networkFees: new ExactTotal(),
          deviationCharges: new ExactTotal(),
          plainTariff: new ExactTotal(),
          total: new ExactTotal(),
        },
        plainTariffBaseline: new ExactTotal(),
      };
      this.byHousehold.set(id, totals);
    }
    return totals;
  }
}

/** Adds one slot's energy, by stage, to a household's period totals. */
function addEnergy(energy: StatementEnergy, household: HouseholdSlot, bill: HouseholdSlotBill): void {
  const c = household.committed;
  energy.importedWh += household.metered.importWh;
  energy.exportedWh += household.metered.exportWh;
  energy.deviationWh += bill.deviationWh;
  energy.communityBoughtWh += c.communityBuyWh;
  energy.communitySoldWh += c.communitySellWh;
  energy.supplierBoughtWh += c.supplierBuyWh;
  energy.supplierSoldWh += c.supplierSellWh;
  for (const trade of c.bilateral) {
    const givenWh = trade.price === 0 ? trade.volumeWh : 0;
    if (trade.side === "buy") {
      energy.bilateralBoughtWh += trade.volumeWh;
      energy.donationsReceivedWh += givenWh;
    } else {
      energy.bilateralSoldWh += trade.volumeWh;
      energy.donatedWh += givenWh;
    }
  }
}
