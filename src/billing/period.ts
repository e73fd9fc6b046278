/**
 * Billing over a period: the `snippet bill` result (slot bills and totals per household, the
 * supplier's deviation balance) and period statements (energy and money by stage, fees, deviation
 * charges, total, saving against the plain tariff).
 * @module
 */
import { cost, type Money, money } from "../units/index.ts";
import type { BillingModel, BillingSlot, BillRequest, SlotBilling } from "./types.ts";
import { billSlot } from "./ucs.ts";

/** Output of `snippet bill`: households in order of first appearance. */
export interface BillResult {
  readonly version: 1;
  readonly model: BillingModel;
  readonly bills: readonly {
    readonly id: string;
    readonly totalMoney: Money;
    readonly slots: readonly { readonly slot: string; readonly money: Money; readonly deviationWh: number }[];
  }[];
  readonly supplier: { readonly deviationMoney: Money };
}

/** Bills every slot of a validated request (see {@link parseBillRequest}). */
export function billPeriod(request: BillRequest, model: BillingModel): BillResult {
  const bills = new Map<
    string,
    { id: string; totalMoney: Money; slots: BillResult["bills"][number]["slots"][number][] }
  >();
  let supplierDeviationMoney = money(0n);
  for (const slot of request.slots) {
    const billing = billSlot(slot, model);
    supplierDeviationMoney = money(supplierDeviationMoney + billing.supplierDeviationMoney);
    for (const bill of billing.bills) {
      let entry = bills.get(bill.id);
      if (entry === undefined) {
        entry = { id: bill.id, totalMoney: money(0n), slots: [] };
        bills.set(bill.id, entry);
      }
      entry.totalMoney = money(entry.totalMoney + bill.money);
      entry.slots.push({ slot: slot.slot, money: bill.money, deviationWh: bill.deviationWh });
    }
  }
  return {
    version: 1,
    model,
    bills: [...bills.values()],
    supplier: { deviationMoney: supplierDeviationMoney },
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
  community: Money;
  bilateral: Money;
  supplier: Money;
  networkFees: Money;
  deviationCharges: Money;
  /** Slots without commitments, billed at the plain tariff. */
  plainTariff: Money;
  total: Money;
}

/** A household's period statement. */
export interface Statement {
  readonly id: string;
  slots: number;
  readonly energy: StatementEnergy;
  readonly money: StatementMoney;
  /** What the same metered energy would have cost at the plain tariff (import at retail, export at feed-in). */
  plainTariffBaseline: Money;
  /** `plainTariffBaseline − money.total`: positive when the community saved the household money. */
  savingMoney: Money;
}

/** Accumulates slot bills into per-household period statements, slot by slot, in constant memory per household. */
export class StatementBook {
  private readonly byHousehold = new Map<string, Statement>();

  /** Adds one billed slot; `billing` must be `billSlot(slot, …)`. */
  add(slot: BillingSlot, billing: SlotBilling): void {
    slot.households.forEach((household, index) => {
      const bill = billing.bills[index];
      if (bill === undefined || bill.id !== household.id)
        throw new RangeError(`billing does not match slot ${slot.slot}`);
      const statement = this.statementOf(household.id);
      const energy = statement.energy;
      const c = household.committed;
      statement.slots++;
      energy.importedWh += household.metered.importWh;
      energy.exportedWh += household.metered.exportWh;
      energy.deviationWh += bill.deviationWh;
      energy.communityBoughtWh += c.communityBuyWh;
      energy.communitySoldWh += c.communitySellWh;
      energy.supplierBoughtWh += c.supplierBuyWh;
      energy.supplierSoldWh += c.supplierSellWh;
      for (const trade of c.bilateral) {
        const given = trade.price === 0 ? trade.volumeWh : 0;
        if (trade.side === "buy") {
          energy.bilateralBoughtWh += trade.volumeWh;
          energy.donationsReceivedWh += given;
        } else {
          energy.bilateralSoldWh += trade.volumeWh;
          energy.donatedWh += given;
        }
      }
      const m = statement.money;
      m.community = money(m.community + bill.communityMoney);
      m.bilateral = money(m.bilateral + bill.bilateralMoney);
      m.supplier = money(m.supplier + bill.supplierMoney);
      m.networkFees = money(m.networkFees + bill.networkFeeMoney);
      m.deviationCharges = money(m.deviationCharges + bill.deviationMoney);
      m.plainTariff = money(m.plainTariff + bill.plainTariffMoney);
      m.total = money(m.total + bill.money);
      statement.plainTariffBaseline = money(
        statement.plainTariffBaseline +
          cost(household.metered.importWh, slot.prices.retail) -
          cost(household.metered.exportWh, slot.prices.feedIn),
      );
      statement.savingMoney = money(statement.plainTariffBaseline - m.total);
    });
  }

  /** The statements so far, in order of first appearance. */
  statements(): Statement[] {
    return [...this.byHousehold.values()];
  }

  private statementOf(id: string): Statement {
    let statement = this.byHousehold.get(id);
    if (statement === undefined) {
      statement = {
        id,
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
          community: money(0n),
          bilateral: money(0n),
          supplier: money(0n),
          networkFees: money(0n),
          deviationCharges: money(0n),
          plainTariff: money(0n),
          total: money(0n),
        },
        plainTariffBaseline: money(0n),
        savingMoney: money(0n),
      };
      this.byHousehold.set(id, statement);
    }
    return statement;
  }
}
