import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HouseholdOutcome, RunSeries, RunSummary } from "../sim/types.ts";
import type { Money } from "../units/index.ts";
import { type ReportInput, renderReport } from "./index.ts";

const CHARTS = 5;
const HOSTILE_ID = "<img src=x onerror=alert(1)>";

/** A made-up but plausible run: sun by day, community trade while it shines, a saving for most. */
function sampleRun(households: number, slots: number, trading = true): ReportInput {
  const series = {
    slots: [] as string[],
    clearingPrice: [] as (number | null)[],
    feedIn: [] as number[],
    retail: [] as number[],
    communityWh: [] as number[],
    bilateralWh: [] as number[],
    supplierBoughtWh: [] as number[],
    supplierSoldWh: [] as number[],
    consumptionWh: [] as number[],
    generationWh: [] as number[],
    deviationWh: [] as number[],
  } satisfies RunSeries;
  for (let slot = 0; slot < slots; slot++) {
    const sun = Math.max(0, Math.sin((((slot % 96) / 4 - 6) / 12) * Math.PI));
    const generationWh = Math.round(households * 300 * sun);
    const consumptionWh = households * (100 + (slot % 7) * 10);
    const peerWh = trading ? Math.min(generationWh, consumptionWh) : 0;
    const bilateralWh = Math.floor(peerWh / 5);
    series.slots.push(new Date(Date.UTC(2026, 5, 1) + slot * 900_000).toISOString());
    series.clearingPrice.push(peerWh > 0 ? 1200 + (slot % 5) * 10 : null);
    series.feedIn.push(500);
    series.retail.push(2000);
    series.communityWh.push(peerWh - bilateralWh);
    series.bilateralWh.push(bilateralWh);
    series.supplierBoughtWh.push(consumptionWh - peerWh);
    series.supplierSoldWh.push(generationWh - peerWh);
    series.consumptionWh.push(consumptionWh);
    series.generationWh.push(generationWh);
    series.deviationWh.push(((slot * 37) % 201) - 100);
  }
  const outcomes: HouseholdOutcome[] = Array.from({ length: households }, (_household, index) => {
    const plainTariffMoney = BigInt(20_000_000 + index * 1_000_000);
    const savingMoney = BigInt(((index * 7919) % 4000) - 500) * 1_000n;
    return {
      id: index === 3 ? HOSTILE_ID : `household-${index}`,
      billMoney: (plainTariffMoney - savingMoney) as Money,
      plainTariffMoney: plainTariffMoney as Money,
      savingMoney: savingMoney as Money,
      deviationWh: (index % 11) - 5,
    };
  });
  const summary: RunSummary = {
    scenario: "Sonnendorf <b>&</b> co",
    engine: "reference",
    seed: 42,
    households,
    slots,
    slotsCleared: series.clearingPrice.filter((price) => price !== null).length,
    communityTradedWh: 1_234_567,
    bilateralWh: 250_000,
    donatedWh: 12_000,
    supplierBoughtWh: 2_550_000_000,
    supplierSoldWh: 1_500,
    savingsMoney: 123_450_000n as Money,
    supplierDeviationBalanceMoney: -5_000_000n as Money,
    selfSufficiency: 0.4321,
  };
  return { summary, series, households: outcomes };
}

const occurrences = (text: string, part: string): number => text.split(part).length - 1;

describe("renderReport", () => {
  const html = renderReport(sampleRun(30, 192));

  it("makes one self-contained page: nothing to fetch, no script", () => {
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    for (const forbidden of ["http://", "https://", "<script", "<link", "@import", "<img", "<iframe"]) {
      assert.equal(html.includes(forbidden), false, `page contains ${forbidden}`);
    }
    assert.doesNotMatch(html, /<[^>]+\s(src|href)=/, "an element loading something");
    assert.deepEqual(
      [...html.matchAll(/url\(([^)]*)\)/g)].filter(([, target]) => !target?.startsWith("#")),
      [],
      "url() pointing outside the page",
    );
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
  });

  it("draws every chart as one inline SVG, with unique ids across charts", () => {
    assert.equal(occurrences(html, "<svg"), CHARTS);
    assert.equal(occurrences(html, "</svg>"), CHARTS);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map(([, id]) => id);
    assert.equal(new Set(ids).size, ids.length);
    for (const title of [
      "clearing price",
      "Traded volume",
      "self-sufficiency",
      "Saving per household",
      "deviation",
    ]) {
      assert.ok(html.includes(title), title);
    }
  });

  it("shows every KPI formatted", () => {
    for (const shown of [
      "Sonnendorf &lt;b&gt;&amp;&lt;/b&gt; co",
      "reference",
      ">42<",
      ">30<",
      ">192<",
      "1.23 MWh",
      "250.00 kWh",
      "12.00 kWh",
      "2.55 GWh",
      "1.50 kWh",
      "12.35 EUR",
      "-0.50 EUR",
      "43.2%",
    ]) {
      assert.ok(html.includes(shown), `missing ${shown}`);
    }
  });

  it("escapes user data: a hostile household id and title stay text", () => {
    const hostile = renderReport({ ...sampleRun(30, 8), title: `</title>${HOSTILE_ID}` });
    assert.equal(hostile.includes(HOSTILE_ID), false);
    assert.equal(hostile.includes("<img"), false);
    assert.ok(hostile.includes("&lt;img src=x onerror=alert(1)&gt;"));
    assert.equal(occurrences(hostile, "</title>"), 1);
  });

  it("lists the top and bottom 10 households only", () => {
    const ranked = renderReport(sampleRun(100, 8));
    assert.equal(occurrences(ranked, '<th scope="row">'), 20);
    assert.ok(ranked.includes("… 80 households in between …"));
  });

  it("gives the same bytes for the same input, whatever was rendered before", () => {
    const input = sampleRun(12, 96);
    const first = renderReport(input);
    renderReport(sampleRun(5, 20));
    assert.equal(renderReport(input), first);
  });

  it("renders a run without a single trade, and one without slots or households", () => {
    const idle = renderReport(sampleRun(4, 96, false));
    assert.equal(occurrences(idle, "<svg"), CHARTS);
    assert.ok(idle.includes(">0<"), "slots cleared");
    assert.equal(occurrences(renderReport(sampleRun(0, 0)), "<svg"), CHARTS);
  });

  it("stays light over a year of 15-min slots", () => {
    const year = renderReport(sampleRun(1, 35_040));
    assert.equal(occurrences(year, "<svg"), CHARTS);
    assert.ok(year.includes("One bar = one day (UTC)"));
    assert.ok(year.length < 1_500_000, `${year.length} characters`);
  });

  it("rejects series that are not aligned with the slots", () => {
    const run = sampleRun(2, 8);
    assert.throws(
      () => renderReport({ ...run, series: { ...run.series, deviationWh: [1] } }),
      /deviationWh not aligned with the 8 slots/,
    );
  });
});
