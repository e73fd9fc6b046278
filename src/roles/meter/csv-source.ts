/**
 * A CSV series of meter readings, the meter service's `csv` source:
 *
 * ```csv
 * meter,slot,importWh,exportWh
 * meter-h001,2026-06-01T00:00:00Z,412,0
 * meter-h002,2026-06-01T00:00:00Z,0,96
 * ```
 *
 * The header names the four columns once each, in any order; then one row per meter and slot, rows
 * in any order. `slot` is the slot's start, ISO 8601 with a zone, on the market's calendar;
 * `importWh` and `exportWh` are whole Wh. Every meter must be registered; rows of registered meters
 * this service does not host are left to the service that does. Every problem is reported by line
 * and column (`readings.csv: line 14, importWh: "-3" is not a non-negative integer Wh`).
 * @module
 */
import { energyWh, IssueList, parseZonedTime, splitCsvLine } from "../../profiles/csv.ts";
import type { SlotCalendar } from "../broker/calendar.ts";
import type { MeterReading } from "./bus.ts";

const COLUMNS = ["meter", "slot", "importWh", "exportWh"] as const;
type Column = (typeof COLUMNS)[number];

/** Which meters a series may name: those registered, and of them those this service hosts. */
export interface CsvMeters {
  readonly registered: ReadonlySet<string>;
  readonly hosted: ReadonlySet<string>;
}

/**
 * The readings of the hosted meters in `text`, by slot index of `calendar`, in ascending slot order.
 * @throws {@link ValidationError} naming each problem by line and column, under `file`.
 */
export function parseReadingsCsv(
  text: string,
  file: string,
  meters: CsvMeters,
  calendar: SlotCalendar,
): Map<number, MeterReading[]> {
  const issues = new IssueList();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const positions = readHeader(lines[0] ?? "", issues, file);
  issues.throwIfAny();
  const bySlot = new Map<number, MeterReading[]>();
  /** The line that gave each meter's reading of each slot. */
  const seen = new Map<string, number>();
  let rows = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const lineNumber = i + 1;
    if (line.trim() === "") continue;
    rows += 1;
    const cells = splitCsvLine(line);
    if (cells === null) {
      issues.add(`${file}: line ${lineNumber}`, "has a quote that is not closed");
      continue;
    }
    if (cells.length !== COLUMNS.length) {
      issues.add(
        `${file}: line ${lineNumber}`,
        `has ${cells.length} fields, the header has ${COLUMNS.length}`,
      );
      continue;
    }
    const cell = (column: Column): string => (cells[positions[column]] as string).trim();
    const at = (column: Column): string => `${file}: line ${lineNumber}, ${column}`;
    const meter = cell("meter");
    if (meter === "") issues.add(at("meter"), "is empty");
    else if (!meters.registered.has(meter)) issues.add(at("meter"), `"${meter}" is not a registered meter`);
    const index = slotIndex(cell("slot"), calendar, at("slot"), issues);
    const importWh = energyWh(cell("importWh"), at("importWh"), issues);
    const exportWh = energyWh(cell("exportWh"), at("exportWh"), issues);
    if (index === null || importWh === null || exportWh === null || !meters.registered.has(meter)) continue;
    const slot = calendar.times(index).slot;
    const key = `${meter}|${slot}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      issues.add(`${file}: line ${lineNumber}`, `duplicates line ${earlier}: meter "${meter}" at ${slot}`);
      continue;
    }
    seen.set(key, lineNumber);
    if (!meters.hosted.has(meter)) continue;
    const readings = bySlot.get(index);
    const reading = { meter, slot, importWh, exportWh };
    if (readings === undefined) bySlot.set(index, [reading]);
    else readings.push(reading);
  }
  if (rows === 0 && issues.count === 0) issues.add(file, "has no readings");
  issues.throwIfAny();
  return new Map([...bySlot].sort(([a], [b]) => a - b));
}

/** Where each column is in a row; the header must name each column exactly once, and nothing else. */
function readHeader(line: string, issues: IssueList, file: string): Record<Column, number> {
  const expected = `the header is ${COLUMNS.join(",")} (in any order)`;
  const at = `${file}: line 1`;
  const cells = (splitCsvLine(line) ?? [line]).map((cell) => cell.trim());
  if (cells.length === 1 && cells[0] === "") issues.add(at, `is empty: ${expected}`);
  else {
    cells.forEach((cell, i) => {
      if (!(COLUMNS as readonly string[]).includes(cell))
        issues.add(at, `"${cell}" is an unknown column: ${expected}`);
      else if (cells.indexOf(cell) !== i) issues.add(at, `"${cell}" is a duplicate column`);
    });
    for (const column of COLUMNS)
      if (!cells.includes(column)) issues.add(at, `lacks the column "${column}": ${expected}`);
  }
  return Object.fromEntries(COLUMNS.map((column) => [column, cells.indexOf(column)])) as Record<
    Column,
    number
  >;
}

/** The calendar slot a time starts, or null (reported) when it is no valid zoned time at a slot start. */
function slotIndex(text: string, calendar: SlotCalendar, path: string, issues: IssueList): number | null {
  const ms = parseZonedTime(text);
  if (ms === null) {
    issues.add(path, `"${text}" is not an ISO 8601 time with a zone, such as 2026-06-01T12:00:00Z`);
    return null;
  }
  const index = calendar.indexOf(new Date(ms).toISOString());
  if (index === null) {
    const { slotMinutes, originMs, slots } = calendar.settings;
    issues.add(
      path,
      `"${text}" is not a slot of the market's calendar: slots start every ${slotMinutes} min from ${new Date(originMs).toISOString()}${slots === undefined ? "" : `, ${slots} of them`}`,
    );
  }
  return index;
}
