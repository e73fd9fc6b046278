/**
 * The run store over SQL, shared by PGlite and PostgreSQL: only the driver differs (driver.ts).
 * @module
 */
import type { Statement } from "../billing/index.ts";
import type { SlotRecord } from "../billing/record.ts";
import type { SqlDriver, SqlParam, SqlSession } from "./driver.ts";
import {
  readSlotRecord,
  readStatement,
  SLOT_COLUMNS,
  SLOT_SELECT_LIST,
  STATEMENT_COLUMNS,
  STATEMENT_SELECT_LIST,
  slotRow,
  statementRow,
} from "./rows.ts";
import { prepareSchema } from "./schema.ts";
import type { RunDescription, RunStore } from "./types.ts";

/** PostgreSQL's limit on the parameters of one statement. */
const MAX_PARAMS_PER_STATEMENT = 65_535;
/**
 * Bytes of parameters per INSERT: a batch of slots goes in statements of about this size, large
 * enough that the per-statement cost vanishes, small enough to keep PGlite's buffers modest.
 */
const BYTES_PER_INSERT = 4_000_000;
/** Slots per SELECT when reading: bounds the result of one query (~40 KB a slot for 1,000 households). */
const SLOTS_PER_SELECT = 200;

/**
 * A run store on a database the driver reaches, creating the schema when missing. The store owns the
 * driver: closing the store closes it.
 * @throws when the database has a schema of another version.
 */
export async function openSqlStore(driver: SqlDriver): Promise<RunStore> {
  await prepareSchema(driver);
  return new SqlRunStore(driver);
}

class SqlRunStore implements RunStore {
  /** Household ids by run: fixed for a run's life, and needed by every append and read. */
  private readonly householdIdsByRun = new Map<string, readonly string[]>();

  constructor(private readonly driver: SqlDriver) {}

  async openRun(run: RunDescription): Promise<number> {
    if (!Number.isSafeInteger(run.seed))
      throw new RangeError(`run ${run.id}: seed ${run.seed} is not a safe integer`);
    const config = JSON.stringify(run.config);
    if (config === undefined) throw new TypeError(`run ${run.id}: the config is not JSON`);
    const householdIds = JSON.stringify(run.householdIds);
    return this.driver.transaction(async (session) => {
      await session.query(
        `INSERT INTO snippet.runs (id, scenario, seed, config, household_ids) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO NOTHING`,
        [run.id, run.scenario, run.seed, config, householdIds],
      );
      const [stored = {}] = await session.query(
        `SELECT scenario, seed::text AS seed, config = $2::jsonb AS same_config,
          household_ids = $3::jsonb AS same_households
        FROM snippet.runs WHERE id = $1`,
        [run.id, config, householdIds],
      );
      const differences = [
        stored.scenario === run.scenario
          ? ""
          : `the scenario ${JSON.stringify(stored.scenario)} (given ${JSON.stringify(run.scenario)})`,
        stored.seed === String(run.seed) ? "" : `the seed ${stored.seed} (given ${run.seed})`,
        stored.same_config === true ? "" : "another config",
        stored.same_households === true ? "" : "other households",
      ].filter((difference) => difference !== "");
      if (differences.length > 0)
        throw new Error(
          `run ${run.id} was started with ${differences.join(", ")}: resume it with the description ` +
            "it started with, or give the new run another id",
        );
      this.householdIdsByRun.set(run.id, [...run.householdIds]);
      return storedSlots(session, run.id);
    });
  }

  async appendSlots(runId: string, records: readonly SlotRecord[]): Promise<void> {
    const first = records[0];
    if (first === undefined) return;
    records.forEach((record, k) => {
      if (record.index !== first.index + k)
        throw new RangeError(
          `run ${runId}: the slots to append must be consecutive, but slot ${first.index + k} is ` +
            `followed by the index ${record.index} at position ${k}`,
        );
    });
    const householdIds = await this.householdIds(runId);
    // Every row is built (and checked) before the transaction, so a bad record writes nothing.
    const rows = records.map((record) => slotRow(runId, householdIds, record));
    const last = first.index + records.length - 1;
    await this.driver.transaction(async (session) => {
      // Locks the run: a concurrent append (PostgreSQL) waits, then sees this batch's slots.
      await session.query("SELECT id FROM snippet.runs WHERE id = $1 FOR UPDATE", [runId]);
      const stored = await storedSlots(session, runId);
      if (first.index !== stored)
        throw new RangeError(
          `run ${runId}: cannot append slots ${first.index}..${last}: ${stored} slots are stored, ` +
            `so the next must be slot ${stored}`,
        );
      await insertRows(session, "snippet.slots", SLOT_COLUMNS, rows).catch((error: Error) => {
        throw new Error(`run ${runId}: storing slots ${first.index}..${last} failed: ${error.message}`, {
          cause: error,
        });
      });
    });
  }

  async readSlots(runId: string, from: number, to: number): Promise<SlotRecord[]> {
    const householdIds = await this.householdIds(runId);
    const stored = await storedSlots(this.driver, runId);
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || from > to || to > stored)
      throw new RangeError(`run ${runId}: cannot read slots [${from}, ${to}): ${stored} slots are stored`);
    const records: SlotRecord[] = [];
    for (let start = from; start < to; start += SLOTS_PER_SELECT) {
      const rows = await this.driver.query(
        `SELECT ${SLOT_SELECT_LIST} FROM snippet.slots
        WHERE run_id = $1 AND slot_index >= $2 AND slot_index < $3 ORDER BY slot_index`,
        [runId, start, Math.min(to, start + SLOTS_PER_SELECT)],
      );
      for (const row of rows) records.push(readSlotRecord(runId, row, householdIds));
    }
    return records;
  }

  async saveStatements(runId: string, period: string, statements: readonly Statement[]): Promise<void> {
    await this.householdIds(runId);
    const rows = statements.map((statement, position) => statementRow(runId, period, position, statement));
    await this.driver.transaction(async (session) => {
      await session.query("DELETE FROM snippet.statements WHERE run_id = $1 AND period = $2", [
        runId,
        period,
      ]);
      await insertRows(session, "snippet.statements", STATEMENT_COLUMNS, rows).catch((error: Error) => {
        throw new Error(
          `run ${runId}: storing the ${rows.length} statements of ${period} failed: ${error.message}`,
          { cause: error },
        );
      });
    });
  }

  async readStatements(runId: string, period: string): Promise<Statement[]> {
    await this.householdIds(runId);
    const rows = await this.driver.query(
      `SELECT ${STATEMENT_SELECT_LIST} FROM snippet.statements
      WHERE run_id = $1 AND period = $2 ORDER BY position`,
      [runId, period],
    );
    return rows.map(readStatement);
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  /** The run's household ids. @throws when the run was never opened. */
  private async householdIds(runId: string): Promise<readonly string[]> {
    let ids = this.householdIdsByRun.get(runId);
    if (ids === undefined) {
      const [row] = await this.driver.query("SELECT household_ids FROM snippet.runs WHERE id = $1", [runId]);
      if (row === undefined) throw new Error(`run ${runId} does not exist: open it first`);
      ids = row.household_ids as string[];
      this.householdIdsByRun.set(runId, ids);
    }
    return ids;
  }
}

/** How many slots of the run are stored: they are always 0..n-1, so the last one tells (from the primary key). */
async function storedSlots(session: SqlSession, runId: string): Promise<number> {
  const [row] = await session.query("SELECT max(slot_index) AS last FROM snippet.slots WHERE run_id = $1", [
    runId,
  ]);
  return row?.last === null || row?.last === undefined ? 0 : (row.last as number) + 1;
}

/** Inserts rows with multi-row INSERTs of bounded size, in the session's transaction. */
async function insertRows(
  session: SqlSession,
  table: string,
  columns: readonly string[],
  rows: readonly SqlParam[][],
): Promise<void> {
  const maxRows = Math.floor(MAX_PARAMS_PER_STATEMENT / columns.length);
  let chunk: SqlParam[][] = [];
  let chunkBytes = 0;
  const flush = async () => {
    await session.query(insertStatement(table, columns, chunk.length), chunk.flat());
    chunk = [];
    chunkBytes = 0;
  };
  for (const row of rows) {
    chunk.push(row);
    for (const value of row)
      chunkBytes += typeof value === "string" || value instanceof Uint8Array ? value.length : 8;
    if (chunk.length === maxRows || chunkBytes >= BYTES_PER_INSERT) await flush();
  }
  if (chunk.length > 0) await flush();
}

function insertStatement(table: string, columns: readonly string[], rowCount: number): string {
  const tuples: string[] = [];
  for (let row = 0; row < rowCount; row++)
    tuples.push(`(${columns.map((_, column) => `$${row * columns.length + column + 1}`).join(", ")})`);
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`;
}
