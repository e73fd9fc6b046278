/**
 * The HTML report of a simulation run: one self-contained page (inline CSS, inline SVG charts, no
 * script, nothing fetched) with the run's KPIs, five charts and the households that saved most and least.
 * @module
 */

import type { ComparisonRow } from "../sim/compare.ts";
import type { HouseholdOutcome, RunSeries, RunSummary } from "../sim/types.ts";
import { moneyToEurString, priceToEurPerKwh, whToKwh } from "../units/index.ts";
import { type Buckets, bucketSlots, meanPerBucket, sumPerBucket, timeTicks } from "./aggregate.ts";
import { type ChartSeries, type ChartSpec, maxCategoryLabels, renderChart } from "./chart.ts";
import { comparisonSection } from "./comparison.ts";
import {
  escapeHtml,
  formatCount,
  formatEnergyWh,
  formatEur,
  formatNumber,
  formatPercent,
  utcMinute,
} from "./format.ts";

/** What {@link renderReport} draws. */
export interface ReportInput {
  readonly summary: RunSummary;
  readonly series: RunSeries;
  readonly households: readonly HouseholdOutcome[];
  /** Page heading; by default "Simulation report: <scenario>". */
  readonly title?: string;
  /** Rule-based against strategic agents on the same scenario and seed (`snippet compare`). */
  readonly comparison?: readonly ComparisonRow[];
}

/** Households listed at each end of the ranking table. */
const TABLE_END_ROWS = 10;
/** Up to this many households the savings chart names each bar. */
const MAX_NAMED_HOUSEHOLDS = 40;

const COLOR = {
  price: "#1f4e9c",
  feedIn: "#2e8b57",
  retail: "#c0392b",
  community: "#2a9d8f",
  bilateral: "#8ab17d",
  supplierBought: "#e76f51",
  supplierSold: "#457b9d",
} as const;

/**
 * The report as one HTML page. The same input gives the same bytes.
 * @throws RangeError when a series is not aligned with `series.slots` or a slot is not a date.
 */
export function renderReport(input: ReportInput): string {
  checkAligned(input.series);
  const ranked = rankBySaving(input.households);
  const slotBuckets = bucketSlots(input.series.slots);
  const dayBuckets = bucketSlots(input.series.slots, "day");
  const charts = [
    priceChart(input.series, slotBuckets),
    volumeChart(input.series, slotBuckets),
    selfSufficiencyChart(input.series, dayBuckets),
    savingsChart(ranked),
    deviationChart(input.series, slotBuckets),
  ];
  const title = input.title ?? `Simulation report: ${input.summary.scenario}`;
  return page(title, [
    runSection(input.summary, input.series.slots),
    kpiSection(input.summary),
    ...(input.comparison === undefined ? [] : [comparisonSection(input.comparison)]),
    `<section><h2>Charts</h2>\n${charts.map((spec, index) => figure(spec, `chart${index}`)).join("\n")}\n</section>`,
    householdSection(ranked),
  ]);
}

function checkAligned(series: RunSeries): void {
  const expected = series.slots.length;
  const misaligned = Object.entries(series)
    .filter(([, values]) => values.length !== expected)
    .map(([name]) => name);
  if (misaligned.length > 0) {
    throw new RangeError(`series ${misaligned.join(", ")} not aligned with the ${expected} slots`);
  }
}

/** Best saving first; ties by id, so the order never depends on the input's. */
function rankBySaving(households: readonly HouseholdOutcome[]): HouseholdOutcome[] {
  return [...households].sort((a, b) =>
    a.savingMoney === b.savingMoney ? compareText(a.id, b.id) : a.savingMoney > b.savingMoney ? -1 : 1,
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const toEur = (money: bigint): number => Number(moneyToEurString(money));
const whsToKwh = (energies: readonly number[]): number[] => energies.map(whToKwh);

/** Positive and negative values as two bar series, so that each gets its own colour and legend entry. */
function signedBars(
  values: readonly number[],
  [positiveName, positiveColor]: readonly [string, string],
  [negativeName, negativeColor]: readonly [string, string],
): ChartSeries[] {
  const part = (name: string, color: string, keep: (value: number) => boolean): ChartSeries => ({
    name,
    kind: "bar",
    values: values.map((value) => (keep(value) ? value : null)),
    color,
    stack: "signed",
  });
  return [
    part(positiveName, positiveColor, (value) => value >= 0),
    part(negativeName, negativeColor, (value) => value < 0),
  ];
}

const households = (count: number): string => `${formatCount(count)} household${count === 1 ? "" : "s"}`;
const timeLabels = (buckets: Buckets): number[] =>
  timeTicks(buckets, maxCategoryLabels(buckets.labels[0]?.length ?? 0));

/** "One bar = one day (UTC), the sum of its slots"; no `aggregate` when a point is a slot. */
function pointNote(buckets: Buckets, point: "point" | "bar", aggregate: string): string {
  const what = `One ${point} = ${buckets.pointName}`;
  return buckets.labels.length === buckets.bounds.at(-1) ? what : `${what}, ${aggregate}`;
}

function priceChart(series: RunSeries, buckets: Buckets): ChartSpec {
  return {
    title: "Community clearing price against the supplier's tariffs",
    subtitle: `${pointNote(buckets, "point", "the clearing price the mean of its slots that traded, tariffs the mean of all")}. Gaps: no community trade.`,
    categories: buckets.labels,
    categoryLabels: timeLabels(buckets),
    xAxisName: "time (UTC)",
    yAxisName: "EUR/kWh",
    series: [
      price("clearing price", series.clearingPrice, COLOR.price),
      price("feed-in tariff", series.feedIn, COLOR.feedIn, true),
      price("retail price", series.retail, COLOR.retail, true),
    ],
  };

  function price(
    name: string,
    prices: readonly (number | null)[],
    color: string,
    dashed = false,
  ): ChartSeries {
    const values = meanPerBucket(buckets, prices).map((mean) =>
      mean === null ? null : priceToEurPerKwh(mean),
    );
    return { name, kind: "line", values, color, dashed };
  }
}

function volumeChart(series: RunSeries, buckets: Buckets): ChartSpec {
  const stage = (name: string, energiesWh: readonly number[], color: string): ChartSeries => ({
    name,
    kind: "bar",
    values: whsToKwh(sumPerBucket(buckets, energiesWh)),
    color,
    stack: "volume",
  });
  return {
    title: "Traded volume by stage",
    subtitle: `${pointNote(buckets, "bar", "the sum of its slots")}. Supplier: the remainders at retail (bought) or feed-in (sold).`,
    categories: buckets.labels,
    categoryLabels: timeLabels(buckets),
    xAxisName: "time (UTC)",
    yAxisName: "kWh",
    series: [
      stage("community", series.communityWh, COLOR.community),
      stage("bilateral", series.bilateralWh, COLOR.bilateral),
      stage("bought from supplier", series.supplierBoughtWh, COLOR.supplierBought),
      stage("sold to supplier", series.supplierSoldWh, COLOR.supplierSold),
    ],
  };
}

function selfSufficiencyChart(series: RunSeries, buckets: Buckets): ChartSpec {
  const peerWh = sumPerBucket(
    buckets,
    series.communityWh.map((communityWh, slot) => communityWh + (series.bilateralWh[slot] ?? 0)),
  );
  const consumptionWh = sumPerBucket(buckets, series.consumptionWh);
  const percent = peerWh.map((wh, point) => {
    const consumedWh = consumptionWh[point] ?? 0;
    return consumedWh > 0 ? (100 * wh) / consumedWh : null;
  });
  return {
    title: "Community self-sufficiency",
    subtitle: `One bar = ${buckets.pointName}: (community + bilateral) / metered consumption. No bar: no consumption.`,
    categories: buckets.labels,
    categoryLabels: timeLabels(buckets),
    xAxisName: "day (UTC)",
    yAxisName: "%",
    series: [{ name: "self-sufficiency", kind: "bar", values: percent, color: COLOR.community }],
  };
}

function savingsChart(ranked: readonly HouseholdOutcome[]): ChartSpec {
  const savingsEur = ranked.map((household) => toEur(household.savingMoney));
  const saving = savingsEur.filter((eur) => eur >= 0).length;
  return {
    title: "Saving per household",
    subtitle: `Plain tariff − bill over the run, best first: ${formatCount(saving)} of ${households(ranked.length)} saved.`,
    categories: ranked.map((household) => household.id),
    categoryLabels: ranked.length <= MAX_NAMED_HOUSEHOLDS ? "every" : "none",
    xAxisName: ranked.length <= MAX_NAMED_HOUSEHOLDS ? "household" : `${households(ranked.length)}, ranked`,
    yAxisName: "EUR",
    series: signedBars(savingsEur, ["saved", COLOR.community], ["paid more", COLOR.supplierBought]),
  };
}

function deviationChart(series: RunSeries, buckets: Buckets): ChartSpec {
  const deviationKwh = whsToKwh(sumPerBucket(buckets, series.deviationWh));
  return {
    title: "Net deviation of the community",
    subtitle: `${pointNote(buckets, "bar", "the sum of its slots")}. Surplus: more exported (or less imported) than committed.`,
    categories: buckets.labels,
    categoryLabels: timeLabels(buckets),
    xAxisName: "time (UTC)",
    yAxisName: "kWh",
    series: signedBars(deviationKwh, ["surplus", COLOR.supplierSold], ["shortage", COLOR.supplierBought]),
  };
}

function figure(spec: ChartSpec, idPrefix: string): string {
  return `<figure aria-label="${escapeHtml(spec.title)}">\n${renderChart(spec, idPrefix)}\n</figure>`;
}

function runSection(summary: RunSummary, slots: readonly string[]): string {
  const first = slots[0];
  const last = slots[slots.length - 1];
  const period =
    first === undefined || last === undefined ? "no slots" : `${utc(first)} to ${utc(last)} (slot starts)`;
  return `<section class="run"><dl>
${definition("Scenario", escapeHtml(summary.scenario))}
${definition("Engine", escapeHtml(summary.engine))}
${definition("Seed", String(summary.seed))}
${definition("Period", escapeHtml(period))}
</dl></section>`;
}

const utc = (slot: string): string => `${utcMinute(Date.parse(slot))} UTC`;

function definition(term: string, valueHtml: string): string {
  return `<div><dt>${term}</dt><dd>${valueHtml}</dd></div>`;
}

function kpiSection(summary: RunSummary): string {
  const peerWh = summary.communityTradedWh + summary.bilateralWh;
  const share = (part: number, whole: number, ofWhat: string): string =>
    whole > 0 ? `${formatPercent(part / whole)} of ${ofWhat}` : "";
  const balance = summary.supplierDeviationBalanceMoney;
  const cards: readonly (readonly [label: string, value: string, note: string])[] = [
    [
      "Self-sufficiency",
      formatPercent(summary.selfSufficiency),
      "consumption met by the community's own generation",
    ],
    [
      "Savings",
      formatEur(summary.savingsMoney),
      summary.households > 0
        ? `${formatEur(summary.savingsMoney / BigInt(summary.households))} per household, against the plain tariff`
        : "against the plain tariff",
    ],
    ["Households", formatCount(summary.households), ""],
    ["Slots", formatCount(summary.slots), ""],
    [
      "Slots cleared",
      formatCount(summary.slotsCleared),
      summary.slots > 0
        ? `${formatPercent(summary.slotsCleared / summary.slots)} of slots traded in the auction`
        : "",
    ],
    [
      "Community traded",
      formatEnergyWh(summary.communityTradedWh),
      share(summary.communityTradedWh, peerWh, "peer trade"),
    ],
    ["Bilateral", formatEnergyWh(summary.bilateralWh), share(summary.bilateralWh, peerWh, "peer trade")],
    [
      "Donated",
      formatEnergyWh(summary.donatedWh),
      share(summary.donatedWh, summary.bilateralWh, "bilateral"),
    ],
    ["Bought from supplier", formatEnergyWh(summary.supplierBoughtWh), "remainders at retail"],
    ["Sold to supplier", formatEnergyWh(summary.supplierSoldWh), "remainders at feed-in"],
    [
      "Supplier deviation balance",
      formatEur(balance),
      balance < 0n ? "paid by the supplier to cover deviations" : "received by the supplier for deviations",
    ],
  ];
  const items = cards.map(
    ([label, value, note]) =>
      `<div class="kpi"><dt>${label}</dt><dd>${value}</dd>${note === "" ? "" : `<dd class="note">${note}</dd>`}</div>`,
  );
  return `<section><h2>Key figures</h2>\n<dl class="kpis">\n${items.join("\n")}\n</dl></section>`;
}

function householdSection(ranked: readonly HouseholdOutcome[]): string {
  const row = (household: HouseholdOutcome, rank: number): string => {
    const plain = household.plainTariffMoney;
    const percent = plain > 0n ? formatPercent(Number(household.savingMoney) / Number(plain)) : "";
    return `<tr><td>${formatCount(rank)}</td><th scope="row">${escapeHtml(household.id)}</th><td>${formatEur(household.billMoney)}</td><td>${formatEur(plain)}</td><td>${formatEur(household.savingMoney)}</td><td>${percent}</td><td>${formatNumber(whToKwh(household.deviationWh), 2)}</td></tr>`;
  };
  const hidden = Math.max(0, ranked.length - 2 * TABLE_END_ROWS);
  const top = hidden > 0 ? ranked.slice(0, TABLE_END_ROWS) : ranked;
  const bottom = hidden > 0 ? ranked.slice(-TABLE_END_ROWS) : [];
  const rows = [
    ...top.map((household, index) => row(household, index + 1)),
    ...(hidden > 0 ? [`<tr class="gap"><td colspan="7">… ${households(hidden)} in between …</td></tr>`] : []),
    ...bottom.map((household, index) => row(household, TABLE_END_ROWS + hidden + index + 1)),
  ];
  const heading =
    hidden > 0
      ? `The ${TABLE_END_ROWS} households that saved most and the ${TABLE_END_ROWS} that saved least`
      : "Every household, by saving";
  return `<section><h2>Households</h2>
<p>${heading}. Saving = plain tariff − bill; deviation = (export − committed export) − (import − committed import).</p>
<table>
<thead><tr><th>rank</th><th>household</th><th>bill</th><th>plain tariff</th><th>saving</th><th>saving %</th><th>deviation (kWh)</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table></section>`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6472; --line: #dde2e8; --card: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 26px; margin: 0 0 8px; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.run dl { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; color: var(--muted); }
.run dl div { display: flex; gap: 6px; }
.run dd { margin: 0; color: var(--ink); overflow-wrap: anywhere; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 12px; margin: 0; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.kpi dt { font-size: 13px; color: var(--muted); }
.kpi dd { margin: 2px 0 0; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi dd.note { font-size: 12px; font-weight: 400; color: var(--muted); }
figure { margin: 0 0 20px; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
figure svg { display: block; width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
thead th { color: var(--muted); font-weight: 600; }
tbody th { text-align: left; font-weight: 500; max-width: 320px; overflow: hidden; text-overflow: ellipsis; }
thead th:nth-child(2) { text-align: left; }
tr.gap td { text-align: center; color: var(--muted); font-style: italic; }
footer { margin-top: 32px; font-size: 13px; color: var(--muted); }
`;

function page(title: string, sectionsHtml: readonly string[]): string {
  const escapedTitle = escapeHtml(title);
  // The policy makes "nothing is fetched" hold for the browser too, whatever slipped into the page.
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapedTitle}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapedTitle}</h1>
${sectionsHtml.join("\n")}
<footer>Energy in kWh (1 MWh = 1,000 kWh), prices in EUR/kWh, money in EUR rounded to the cent; times in UTC. Generated by snippet.</footer>
</main>
</body>
</html>
`;
}
