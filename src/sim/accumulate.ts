/**
 * Folds a run's slot records, one at a time, into its summary, its per-slot series, each household's
 * outcome and the monthly statements. Fed live by the slot loop, or from the store when a run resumes.
 * @module
 */
import { billingPeriodOf, plainTariffMoney, type Statement, StatementBook } from "../billing/index.ts";
import type { SlotRecord } from "../billing/record.ts";
import { ExactTotal, type Money } from "../units/index.ts";
import type { HouseholdOutcome, RunSeries, RunSummary } from "./types.ts";

/** Mutable per-slot series, for building a {@link RunSeries}. */
type SeriesColumns = {
  -readonly [K in keyof RunSeries]: RunSeries[K] extends readonly (infer T)[] ? T[] : never;
};

interface HouseholdTotals {
  readonly bill: ExactTotal;
  readonly plainTariff: ExactTotal;
  deviationWh: number;
}

export class RunAccumulator {
  private readonly columns: SeriesColumns = {
    slots: [],
    clearingPrice: [],
    feedIn: [],
    retail: [],
    communityWh: [],
    bilateralWh: [],
    supplierBoughtWh: [],
    supplierSoldWh: [],
    consumptionWh: [],
    generationWh: [],
    deviationWh: [],
  };
  private readonly households: HouseholdTotals[];
  private readonly savings = new ExactTotal();
  private readonly supplierDeviation = new ExactTotal();
  private slotsCleared = 0;
  private donatedWh = 0;
  private period: string | null = null;
  private statements = new StatementBook();
  private readonly finishedPeriods = new Map<string, Statement[]>();

  constructor(
    private readonly run: Pick<RunSummary, "scenario" | "engine" | "seed">,
    private readonly householdIds: readonly string[],
  ) {
    this.households = householdIds.map(() => ({
      bill: new ExactTotal(),
      plainTariff: new ExactTotal(),
      deviationWh: 0,
    }));
  }

  /** Adds the next slot of the run. */
  add(record: SlotRecord): void {
    const period = billingPeriodOf(record.slot);
    if (this.period !== null && period !== this.period) this.closePeriod();
    this.period = period;

    const { feedIn, retail } = record.prices;
    let bilateralWh = 0;
    for (const trade of record.bilateral) {
      bilateralWh += trade.volumeWh;
      if (trade.price === 0) this.donatedWh += trade.volumeWh;
    }
    let supplierBoughtWh = 0;
    let supplierSoldWh = 0;
    let consumptionWh = 0;
    let generationWh = 0;
    let deviationWh = 0;
    for (let h = 0; h < record.households.length; h++) {
      const household = record.households[h] as SlotRecord["households"][number];
      const totals = this.households[h] as HouseholdTotals;
      const { importWh, exportWh } = household.metered;
      const plainMoney = plainTariffMoney(household.metered, record.prices);
      totals.bill.add(household.bill.money);
      totals.plainTariff.add(plainMoney);
      totals.deviationWh += household.bill.deviationWh;
      this.savings.add(plainMoney - household.bill.money);
      this.supplierDeviation.add(household.bill.deviationMoney);
      supplierBoughtWh += household.committed.supplierBuyWh;
      supplierSoldWh += household.committed.supplierSellWh;
      consumptionWh += importWh;
      generationWh += exportWh;
      deviationWh += household.bill.deviationWh;
    }
    if (record.communityVolumeWh > 0) this.slotsCleared++;

    const c = this.columns;
    c.slots.push(record.slot);
    c.clearingPrice.push(record.clearingPrice);
    c.feedIn.push(feedIn);
    c.retail.push(retail);
    c.communityWh.push(record.communityVolumeWh);
    c.bilateralWh.push(bilateralWh);
    c.supplierBoughtWh.push(supplierBoughtWh);
    c.supplierSoldWh.push(supplierSoldWh);
    c.consumptionWh.push(consumptionWh);
    c.generationWh.push(generationWh);
    c.deviationWh.push(deviationWh);

    this.statements.add(
      {
        slot: record.slot,
        prices: record.prices,
        clearingPrice: record.clearingPrice,
        households: record.households,
      },
      { bills: record.households.map((household) => household.bill) },
    );
  }

  /** The statements of every billing period so far, the current one included. */
  statementsByPeriod(): Map<string, Statement[]> {
    const all = new Map(this.finishedPeriods);
    if (this.period !== null) all.set(this.period, this.statements.statements());
    return all;
  }

  summary(): RunSummary {
    const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);
    const c = this.columns;
    const consumptionWh = sum(c.consumptionWh);
    return {
      ...this.run,
      households: this.householdIds.length,
      slots: c.slots.length,
      slotsCleared: this.slotsCleared,
      communityTradedWh: sum(c.communityWh),
      bilateralWh: sum(c.bilateralWh),
      donatedWh: this.donatedWh,
      supplierBoughtWh: sum(c.supplierBoughtWh),
      supplierSoldWh: sum(c.supplierSoldWh),
      savingsMoney: this.savings.value,
      supplierDeviationBalanceMoney: this.supplierDeviation.value,
      selfSufficiency: consumptionWh === 0 ? 0 : (sum(c.communityWh) + sum(c.bilateralWh)) / consumptionWh,
    };
  }

  series(): RunSeries {
    return this.columns;
  }

  householdOutcomes(): HouseholdOutcome[] {
    return this.householdIds.map((id, h) => {
      const totals = this.households[h] as HouseholdTotals;
      const billMoney = totals.bill.value;
      const plainTariffMoney = totals.plainTariff.value;
      return {
        id,
        billMoney,
        plainTariffMoney,
        savingMoney: (plainTariffMoney - billMoney) as Money,
        deviationWh: totals.deviationWh,
      };
    });
  }

  private closePeriod(): void {
    if (this.period === null) return;
    this.finishedPeriods.set(this.period, this.statements.statements());
    this.statements = new StatementBook();
  }
}
