/**
 * Human-readable figures for the report (energy in kWh/MWh/GWh, EUR with two decimals, percentages,
 * counts, times in UTC) and HTML escaping of user data. Locale- and time-zone-free, so the page is the
 * same on every machine.
 * @module
 */
import { whToKwh } from "../units/index.ts";

const MONEY_UNITS_PER_CENT = 100_000n;

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` safe inside HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ENTITIES[character] ?? character);
}

/** "35,040": digits of a non-negative integer written as a string, grouped by thousands. */
function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A decimal with `decimals` digits and grouped thousands ("-1,234.50"). */
export function formatNumber(value: number, decimals: number): string {
  const fixed = Math.abs(value).toFixed(decimals);
  const [integer = "", fraction] = fixed.split(".");
  const sign = value < 0 && Number(fixed) !== 0 ? "-" : "";
  return `${sign}${groupThousands(integer)}${fraction === undefined ? "" : `.${fraction}`}`;
}

/** A count with grouped thousands ("35,040"). */
export function formatCount(count: number): string {
  return formatNumber(count, 0);
}

/** Energy in the largest of kWh, MWh, GWh that keeps it at least 1 ("12.35 MWh"). */
export function formatEnergyWh(energyWh: number): string {
  const kwh = whToKwh(energyWh);
  const magnitude = Math.abs(kwh);
  if (magnitude >= 1e6) return `${formatNumber(kwh / 1e6, 2)} GWh`;
  if (magnitude >= 1e3) return `${formatNumber(kwh / 1e3, 2)} MWh`;
  return `${formatNumber(kwh, 2)} kWh`;
}

/** Money units (1e-7 EUR) as EUR rounded half away from zero to the cent, exactly ("-1,234.57 EUR"). */
export function formatEur(money: bigint): string {
  const magnitude = money < 0n ? -money : money;
  const cents = (magnitude + MONEY_UNITS_PER_CENT / 2n) / MONEY_UNITS_PER_CENT;
  const sign = money < 0n && cents > 0n ? "-" : "";
  const fraction = (cents % 100n).toString().padStart(2, "0");
  return `${sign}${groupThousands((cents / 100n).toString())}.${fraction} EUR`;
}

/** A share in 0..1 as a percentage with one decimal ("63.2%"). */
export function formatPercent(share: number): string {
  return `${formatNumber(share * 100, 1)}%`;
}

/** A time in UTC to the minute ("2026-06-01 12:15"). */
export function utcMinute(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A day in UTC ("2026-06-01"). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
