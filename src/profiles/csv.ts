/**
 * Real meter series from CSV: `timestamp,household,importWh,exportWh`, one row per household and
 * slot, rows in any order, timestamps in ISO 8601 with a zone at slot starts. Import becomes the
 * household's load and export its PV. Every problem is reported by line and column.
 * @module
 */
import { MAX_ENERGY_WH, MS_PER_MINUTE } from "../units/index.ts";
import { ValidationError, type ValidationIssue } from "../validation/index.ts";
import { checkGrid } from "./schema.ts";
import type { ProfileSource, SlotEnergy, TimeGrid } from "./types.ts";

const COLUMNS = ["timestamp", "household", "importWh", "exportWh"] as const;
type Column = (typeof COLUMNS)[number];
/** A broken file can have a problem on every line; the report stops listing after this many. */
const MAX_ISSUES = 100;

/** One household's series. */
interface Series {
  readonly firstLine: number;
  readonly importWh: Uint32Array;
  readonly exportWh: Uint32Array;
  /** Line of the row that gave each slot, 0 while none has. */
  readonly lines: Uint32Array;
}

/**
 * The meter series in `text` on `grid`; households in the order they first appear. Every household
 * must have exactly one row for every slot of the grid.
 * @throws {@link ValidationError} naming each problem by line and column (`line 14, importWh`).
 */
export function csvProfiles(text: string, grid: TimeGrid): ProfileSource {
  checkGrid(grid);
  const issues = new IssueList();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const positions = readHeader(lines[0] ?? "", issues);
  issues.throwIfAny();
  const slotMs = grid.slotMinutes * MS_PER_MINUTE;
  const series = new Map<string, Series>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const lineNumber = i + 1;
    if (line.trim() === "") continue;
    const cells = splitCsvLine(line);
    if (cells === null) {
      issues.add(`line ${lineNumber}`, "has a quote that is not closed");
      continue;
    }
    if (cells.length !== COLUMNS.length) {
      issues.add(`line ${lineNumber}`, `has ${cells.length} fields, the header has ${COLUMNS.length}`);
      continue;
    }
    const cell = (column: Column): string => (cells[positions[column]] as string).trim();
    const at = (column: Column): string => `line ${lineNumber}, ${column}`;
    const slot = slotIndex(cell("timestamp"), grid, slotMs, at("timestamp"), issues);
    const household = cell("household");
    if (household === "") issues.add(at("household"), "is empty");
    const importWh = energyWh(cell("importWh"), at("importWh"), issues);
    const exportWh = energyWh(cell("exportWh"), at("exportWh"), issues);
    if (slot === null || household === "" || importWh === null || exportWh === null) continue;
    let entry = series.get(household);
    if (entry === undefined) {
      entry = {
        firstLine: lineNumber,
        importWh: new Uint32Array(grid.slotCount),
        exportWh: new Uint32Array(grid.slotCount),
        lines: new Uint32Array(grid.slotCount),
      };
      series.set(household, entry);
    }
    const earlierLine = entry.lines[slot] as number;
    if (earlierLine !== 0) {
      issues.add(
        `line ${lineNumber}`,
        `duplicates line ${earlierLine}: household "${household}" at ${slotTime(grid, slotMs, slot)}`,
      );
      continue;
    }
    entry.importWh[slot] = importWh;
    entry.exportWh[slot] = exportWh;
    entry.lines[slot] = lineNumber;
  }
  if (series.size === 0 && issues.count === 0) issues.add("(input)", "has no data rows");
  for (const [household, entry] of series) {
    const missing = entry.lines.reduce((count, line) => count + (line === 0 ? 1 : 0), 0);
    if (missing > 0) {
      issues.add(
        `household "${household}" (first on line ${entry.firstLine})`,
        `is missing slot ${slotTime(grid, slotMs, entry.lines.indexOf(0))}` +
          (missing > 1 ? ` and ${missing - 1} more of the grid's ${grid.slotCount}` : ""),
      );
    }
  }
  issues.throwIfAny();
  const all = [...series.values()];
  return {
    householdIds: [...series.keys()],
    slot(index: number): readonly SlotEnergy[] {
      if (!Number.isInteger(index) || index < 0 || index >= grid.slotCount) {
        throw new RangeError(`slot ${index} is not on the grid of ${grid.slotCount} slots`);
      }
      return all.map((entry) => ({
        loadWh: entry.importWh[index] as number,
        pvWh: entry.exportWh[index] as number,
        evWh: 0,
        heatPumpWh: 0,
      }));
    },
  };
}

/** Where each column is in a row; the header must name each column exactly once, and nothing else. */
function readHeader(line: string, issues: IssueList): Record<Column, number> {
  const expected = `the header is ${COLUMNS.join(",")} (in any order)`;
  const cells = (splitCsvLine(line) ?? [line]).map((cell) => cell.trim());
  if (cells.length === 1 && cells[0] === "") issues.add("line 1", `is empty: ${expected}`);
  else {
    cells.forEach((cell, i) => {
      if (!(COLUMNS as readonly string[]).includes(cell)) {
        issues.add("line 1", `"${cell}" is an unknown column: ${expected}`);
      } else if (cells.indexOf(cell) !== i) issues.add("line 1", `"${cell}" is a duplicate column`);
    });
    for (const column of COLUMNS) {
      if (!cells.includes(column)) issues.add("line 1", `lacks the column "${column}": ${expected}`);
    }
  }
  return Object.fromEntries(COLUMNS.map((column) => [column, cells.indexOf(column)])) as Record<
    Column,
    number
  >;
}

/** The cells of one CSV line; a cell in double quotes may hold commas and doubled quotes. Null when a quote is not closed. */
export function splitCsvLine(line: string): string[] | null {
  const cells: string[] = [];
  let position = 0;
  for (;;) {
    if (line[position] === '"') {
      let cell = "";
      position += 1;
      for (;;) {
        const close = line.indexOf('"', position);
        if (close < 0) return null;
        cell += line.slice(position, close);
        position = close + 1;
        if (line[position] !== '"') break;
        cell += '"';
        position += 1;
      }
      const comma = line.indexOf(",", position);
      cells.push(cell + line.slice(position, comma < 0 ? line.length : comma));
      if (comma < 0) return cells;
      position = comma + 1;
    } else {
      const comma = line.indexOf(",", position);
      cells.push(line.slice(position, comma < 0 ? line.length : comma));
      if (comma < 0) return cells;
      position = comma + 1;
    }
  }
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/** The grid slot a timestamp starts, or null (reported) when it is not a valid zoned time at a slot start. */
function slotIndex(
  text: string,
  grid: TimeGrid,
  slotMs: number,
  path: string,
  issues: IssueList,
): number | null {
  const ms = parseZonedTime(text);
  if (ms === null) {
    issues.add(path, `"${text}" is not an ISO 8601 time with a zone, such as 2026-06-01T12:00:00Z`);
    return null;
  }
  const offsetMs = ms - grid.startMs;
  const first = new Date(grid.startMs).toISOString();
  if (offsetMs % slotMs !== 0) {
    issues.add(path, `"${text}" is off the grid: slots start every ${grid.slotMinutes} min from ${first}`);
    return null;
  }
  const index = offsetMs / slotMs;
  if (index < 0 || index >= grid.slotCount) {
    issues.add(path, `"${text}" is outside the grid: ${grid.slotCount} slots from ${first}`);
    return null;
  }
  return index;
}

/** Milliseconds since the epoch of an ISO 8601 date-time with a zone, or null when it is not one or names no real time. */
export function parseZonedTime(text: string): number | null {
  const match = TIMESTAMP.exec(text);
  if (match === null) return null;
  const [, year, month, day, hour, minute, second, fraction, utc, sign, offsetHours, offsetMinutes] = match;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second ?? "0"].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 59) return null;
  const zoneMinutes =
    utc === "Z" ? 0 : (sign === "-" ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  if (utc !== "Z" && (Number(offsetHours) > 23 || Number(offsetMinutes) > 59)) return null;
  const fractionMs = fraction === undefined ? 0 : Number(fraction) * 1000;
  return Date.UTC(y, mo - 1, d, h, mi, s) + fractionMs - zoneMinutes * MS_PER_MINUTE;
}

/** A meter value: a whole number of Wh in 0..MAX_ENERGY_WH, or null (reported). */
export function energyWh(text: string, path: string, issues: IssueList): number | null {
  if (!/^\d+$/.test(text)) {
    issues.add(path, `"${text}" is not a non-negative integer Wh`);
    return null;
  }
  const value = Number(text);
  if (value > MAX_ENERGY_WH) {
    issues.add(path, `"${text}" is above the per-slot maximum of ${MAX_ENERGY_WH} Wh`);
    return null;
  }
  return value;
}

function slotTime(grid: TimeGrid, slotMs: number, index: number): string {
  return new Date(grid.startMs + index * slotMs).toISOString();
}

/** Problems found so far, listed up to MAX_ISSUES and counted beyond. */
export class IssueList {
  private readonly issues: ValidationIssue[] = [];
  count = 0;

  add(path: string, message: string): void {
    this.count += 1;
    if (this.issues.length < MAX_ISSUES) this.issues.push({ path, message });
  }

  throwIfAny(): void {
    if (this.count === 0) return;
    const more = this.count - this.issues.length;
    throw new ValidationError(
      more > 0 ? [...this.issues, { path: "(input)", message: `has ${more} more problems` }] : this.issues,
    );
  }
}

/**
 * A profile source answering in the scenario's household order, whatever order its own (a meter CSV)
 * lists them in. @throws {@link ValidationError} when it lacks a household or has one too many.
 */
export function alignedTo(householdIds: readonly string[], source: ProfileSource): ProfileSource {
  const position = new Map(source.householdIds.map((id, index) => [id, index]));
  const missing = householdIds.filter((id) => !position.has(id));
  const extra = source.householdIds.filter((id) => !householdIds.includes(id));
  if (missing.length > 0 || extra.length > 0) {
    const problems = [
      ...(missing.length > 0 ? [`has no series for ${missing.map((id) => `"${id}"`).join(", ")}`] : []),
      ...(extra.length > 0
        ? [`has series for ${extra.map((id) => `"${id}"`).join(", ")}, not in the scenario`]
        : []),
    ];
    throw new ValidationError([{ path: "--meter-csv", message: problems.join("; ") }]);
  }
  const order = householdIds.map((id) => position.get(id) as number);
  return {
    householdIds,
    slot: (index) => {
      const energies = source.slot(index);
      return order.map((at) => energies[at] as SlotEnergy);
    },
  };
}
