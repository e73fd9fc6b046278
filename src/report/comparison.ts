/**
 * The table comparing rule-based and strategic agents on one run (`snippet compare`): as Markdown for
 * the terminal and the README, and as an HTML section of the report.
 * @module
 */
import type { ComparisonRow } from "../sim/compare.ts";
import { escapeHtml, formatEur, formatNumber, formatPercent } from "./format.ts";

const COLUMNS = [
  "agents",
  "household cost",
  "saving vs plain tariff",
  "self-consumption",
  "peak import",
  "run time",
] as const;

/** The cells of each row, formatted; a strategic row also says how it compares with the rule-based one. */
function cells(rows: readonly ComparisonRow[]): string[][] {
  const baseline = rows.find((row) => row.agents === "rule-based");
  return rows.map((row) => {
    const change =
      baseline === undefined || row === baseline || baseline.householdCostMoney === 0n
        ? ""
        : ` (${formatSigned(Number(row.householdCostMoney - baseline.householdCostMoney) / Number(baseline.householdCostMoney))})`;
    const plain = Number(row.plainTariffMoney);
    return [
      row.agents,
      `${formatEur(row.householdCostMoney)}${change}`,
      `${formatEur(row.savingsMoney)} (${plain === 0 ? "–" : formatPercent(Number(row.savingsMoney) / plain)})`,
      formatPercent(row.selfConsumption),
      `${formatNumber(row.peakImportKw, 1)} kW`,
      `${formatNumber(row.seconds, 1)} s`,
    ];
  });
}

function formatSigned(share: number): string {
  return `${share > 0 ? "+" : share < 0 ? "−" : ""}${formatPercent(Math.abs(share))}`;
}

/** The comparison as a Markdown table. */
export function comparisonMarkdown(rows: readonly ComparisonRow[]): string {
  const line = (values: readonly string[]): string => `| ${values.join(" | ")} |`;
  return [line(COLUMNS), line(COLUMNS.map(() => "---")), ...cells(rows).map(line)].join("\n");
}

/** The comparison as a report section. */
export function comparisonSection(rows: readonly ComparisonRow[]): string {
  const head = COLUMNS.map((column) => `<th>${escapeHtml(column)}</th>`).join("");
  const body = cells(rows)
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<section><h2>Rule-based and strategic agents, same scenario and seed</h2>
<table><thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody></table>
<p>Household cost: all bills together. Saving: against the plain tariff (metered energy at retail and feed-in). Self-consumption: the share of the households' PV used in the community. Peak import: the community's highest import in one slot.</p>
</section>`;
}
