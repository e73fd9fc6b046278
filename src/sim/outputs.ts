/**
 * The files a run leaves in its output folder: `summary.json`, and CSVs of orders, trades (by stage),
 * meter readings and monthly bills. The slot CSVs are written slot by slot as records arrive, so they
 * stay in constant memory however long the run.
 * @module
 */
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Statement } from "../billing/index.ts";
import type { SlotRecord } from "../billing/record.ts";
import { renderReport } from "../report/index.ts";
import { moneyToJson } from "../units/index.ts";
import type { RunAccumulator } from "./accumulate.ts";
import type { RunSink } from "./run.ts";
import type { RunSummary } from "./types.ts";

/** Writes orders.csv, trades.csv and readings.csv under `dir`, one slot at a time. */
export class SlotCsvWriter implements RunSink {
  private readonly orders: number;
  private readonly trades: number;
  private readonly readings: number;
  /** Household ids as CSV fields, by position: the same for every slot of a run, so quoted once. */
  private readonly idFields: string[] = [];

  constructor(dir: string) {
    this.orders = createCsv(join(dir, "orders.csv"), "slot,household,side,volumeWh,limitPrice,filledWh");
    this.trades = createCsv(join(dir, "trades.csv"), "slot,household,stage,side,partner,volumeWh,price");
    this.readings = createCsv(join(dir, "readings.csv"), "slot,household,importWh,exportWh");
  }

  add(record: SlotRecord): void {
    let orders = "";
    let trades = "";
    let readings = "";
    const { feedIn, retail } = record.prices;
    record.households.forEach((household, h) => {
      const { committed: c, metered, order } = household;
      let id = this.idFields[h];
      if (id === undefined) {
        id = csvField(household.id);
        this.idFields[h] = id;
      }
      const communityWh = c.communityBuyWh + c.communitySellWh;
      if (order !== null)
        orders += `${record.slot},${id},${order.side},${order.volumeWh},${order.limitPrice},${communityWh}\n`;
      const communityPrice = c.communityPrice ?? record.clearingPrice;
      if (c.communityBuyWh > 0)
        trades += tradeLine(record.slot, id, "community", "buy", "", c.communityBuyWh, communityPrice);
      if (c.communitySellWh > 0)
        trades += tradeLine(record.slot, id, "community", "sell", "", c.communitySellWh, communityPrice);
      for (const trade of c.bilateral) {
        trades += tradeLine(
          record.slot,
          id,
          "bilateral",
          trade.side,
          trade.partner,
          trade.volumeWh,
          trade.price,
        );
      }
      if (c.supplierBuyWh > 0)
        trades += tradeLine(record.slot, id, "supplier", "buy", "", c.supplierBuyWh, retail);
      if (c.supplierSellWh > 0)
        trades += tradeLine(record.slot, id, "supplier", "sell", "", c.supplierSellWh, feedIn);
      readings += `${record.slot},${id},${metered.importWh},${metered.exportWh}\n`;
    });
    writeSync(this.orders, orders);
    writeSync(this.trades, trades);
    writeSync(this.readings, readings);
  }

  close(): void {
    for (const fd of [this.orders, this.trades, this.readings]) closeSync(fd);
  }
}

function tradeLine(
  slot: string,
  household: string,
  stage: string,
  side: string,
  partner: string,
  volumeWh: number,
  price: number | null,
): string {
  return `${slot},${household},${stage},${side},${csvField(partner)},${volumeWh},${price ?? ""}\n`;
}

function createCsv(path: string, header: string): number {
  const fd = openSync(path, "w");
  writeSync(fd, `${header}\n`);
  return fd;
}

/** A CSV field, quoted when it holds a comma, quote or line break (ids are user data). */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Writes bills.csv: one row per household and billing period, from the monthly statements. */
export function writeBillsCsv(
  dir: string,
  statementsByPeriod: ReadonlyMap<string, readonly Statement[]>,
): void {
  const header =
    "period,household,slots,totalMoney,communityMoney,bilateralMoney,supplierMoney,networkFeesMoney,deviationChargesMoney," +
    "plainTariffMoney,plainTariffBaselineMoney,savingMoney,importedWh,exportedWh,communityBoughtWh,communitySoldWh," +
    "bilateralBoughtWh,bilateralSoldWh,donatedWh,supplierBoughtWh,supplierSoldWh,deviationWh";
  const lines = [header];
  for (const [period, statements] of statementsByPeriod) {
    for (const s of statements) {
      const m = s.money;
      const e = s.energy;
      lines.push(
        [
          period,
          csvField(s.id),
          s.slots,
          m.total,
          m.community,
          m.bilateral,
          m.supplier,
          m.networkFees,
          m.deviationCharges,
          m.plainTariff,
          s.plainTariffBaseline,
          s.savingMoney,
          e.importedWh,
          e.exportedWh,
          e.communityBoughtWh,
          e.communitySoldWh,
          e.bilateralBoughtWh,
          e.bilateralSoldWh,
          e.donatedWh,
          e.supplierBoughtWh,
          e.supplierSoldWh,
          e.deviationWh,
        ].join(","),
      );
    }
  }
  writeFileSync(join(dir, "bills.csv"), `${lines.join("\n")}\n`);
}

/** Writes summary.json; money as spec/io.md writes it (a number while safe, else a decimal string). */
export function writeSummary(dir: string, summary: RunSummary): void {
  const json = JSON.stringify(
    summary,
    (_key, value) => (typeof value === "bigint" ? moneyToJson(value) : value),
    2,
  );
  writeFileSync(join(dir, "summary.json"), `${json}\n`);
}

/** The files a finished run writes from its accumulated records: summary.json, bills.csv and report.html. */
export function writeRunOutputs(
  dir: string,
  accumulator: RunAccumulator,
  title: string,
): { summaryPath: string; reportPath: string } {
  writeSummary(dir, accumulator.summary());
  writeBillsCsv(dir, accumulator.statementsByPeriod());
  const reportPath = join(dir, "report.html");
  writeFileSync(
    reportPath,
    renderReport({
      summary: accumulator.summary(),
      series: accumulator.series(),
      households: accumulator.householdOutcomes(),
      title,
    }),
  );
  return { summaryPath: join(dir, "summary.json"), reportPath };
}
