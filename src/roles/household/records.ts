/**
 * A household's own records, kept on its own device (a PGlite folder, or a PostgreSQL database by
 * URL): per slot, the intent it planned and whether it was sent, what it learned when the slot was
 * cleared (its order, commitments and the public figures), and, once billed, its record of the slot —
 * the slot's public part and its own row exactly as `snippet simulate` records it. The household
 * resumes from them after a restart; `snippet up` assembles simulate's outputs from them, and
 * verification and disputes read them. Writes of many homes go together in one transaction.
 * @module
 */
import type { HouseholdSlotRecord, SlotRecord } from "../../billing/record.ts";
import type { Commitments, HouseholdIntent, ZoneOutcome } from "../../market/index.ts";
import type { SqlDriver, SqlSession } from "../../store/driver.ts";
import { isPostgresUrl } from "../../store/open.ts";
import { openPgliteDriver } from "../../store/pglite.ts";
import { openPostgresDriver, redactPassword } from "../../store/postgres.ts";
import { OperationalError } from "../../system/errors.ts";

/** A household's own record of a slot: the slot's public part and its own row. */
export interface OwnSlotRecord {
  readonly index: number;
  readonly slot: string;
  readonly prices: SlotRecord["prices"];
  readonly clearingPrice: number | null;
  readonly communityVolumeWh: number;
  readonly zones?: readonly ZoneOutcome[];
  readonly own: HouseholdSlotRecord;
}

/** The slot's public figures once the broker cleared it (or left it to the suppliers). */
export interface SlotFigures {
  readonly clearingPrice: number | null;
  readonly communityVolumeWh: number;
  readonly zones?: readonly ZoneOutcome[];
}

/** What a household learned when its slot was cleared, or left to its supplier. */
export interface SlotLearned {
  readonly figures: SlotFigures;
  /** Its community order after the bilateral stage; null when it had none. */
  readonly order: HouseholdSlotRecord["order"];
  readonly committed: Commitments;
}

/** One slot as a household keeps it, from its planning on. */
export interface KeptSlot {
  readonly index: number;
  readonly slot: string;
  /** The tariffs it planned with (the board's). */
  readonly prices: SlotRecord["prices"];
  readonly intent: HouseholdIntent;
  /** Whether its intent was sent to the nodes (or refused by them): it is never sent again. */
  readonly sent: boolean;
  readonly learned: SlotLearned | null;
  readonly record: OwnSlotRecord | null;
}

/** A step of a slot, written when it is done; each is written once, in this order. */
export type KeptChange =
  | {
      readonly kind: "planned";
      readonly household: string;
      readonly index: number;
      readonly slot: string;
      readonly prices: SlotRecord["prices"];
      readonly intent: HouseholdIntent;
    }
  | { readonly kind: "sent"; readonly household: string; readonly index: number }
  | {
      readonly kind: "learned";
      readonly household: string;
      readonly index: number;
      readonly learned: SlotLearned;
    }
  | {
      readonly kind: "recorded";
      readonly household: string;
      readonly index: number;
      readonly record: OwnSlotRecord;
    };

/** A household device's store (one store may hold the slots of many homes of one process). */
export interface HouseholdRecords {
  /** Each household's kept slots, in slot order; a household with none is absent. All households without `householdIds`. */
  read(householdIds?: readonly string[]): Promise<Map<string, KeptSlot[]>>;
  /**
   * Writes `changes` in one transaction: all, or none.
   * @throws an Error naming the household and slot of a change out of order (a slot planned twice, a
   * step of a slot not planned, a step written twice).
   */
  write(changes: readonly KeptChange[]): Promise<void>;
  close(): Promise<void>;
}

/** The version of the tables below; a change to them gets a new one and a migration. */
export const HOUSEHOLD_SCHEMA_VERSION = 1;

const SCHEMA: readonly string[] = [
  "CREATE SCHEMA IF NOT EXISTS snippet_household",
  "CREATE TABLE IF NOT EXISTS snippet_household.schema_version (version int4 NOT NULL)",
  `-- One row per household and slot, from the slot's planning on. json (not jsonb) keeps each value's
  -- text as written, so a record reads back exactly as it was stored.
  CREATE TABLE IF NOT EXISTS snippet_household.slots (
    household text NOT NULL,
    slot_index int4 NOT NULL CHECK (slot_index >= 0),
    slot text NOT NULL,
    prices json NOT NULL,
    intent json NOT NULL,
    sent boolean NOT NULL DEFAULT false,
    -- What it learned at the clearing: its order, commitments and the public figures.
    learned json,
    -- Its own record of the slot once billed (an OwnSlotRecord).
    record json,
    PRIMARY KEY (household, slot_index),
    CHECK (record IS NULL OR learned IS NOT NULL)
  )`,
];

/** Households per read query: bounds one answer to their slots. */
const HOUSEHOLDS_PER_READ = 50;

/**
 * Opens the records at `target`: PostgreSQL for a `postgres://` URL, else a PGlite folder (created
 * when missing).
 * @throws {@link OperationalError} naming the store when it cannot be opened (locked by another
 * process, unreachable, of a newer version).
 */
export async function openHouseholdRecords(target: string): Promise<HouseholdRecords> {
  let driver: SqlDriver | undefined;
  try {
    driver = isPostgresUrl(target) ? await openPostgresDriver(target) : await openPgliteDriver(target);
    return await householdRecordsOn(driver);
  } catch (error) {
    await driver?.close();
    throw new OperationalError(
      `the household records ${redactPassword(target)} cannot be opened: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The households' records kept at `target` (a PGlite folder or PostgreSQL URL): each household's
 * records of the slots billed, in slot order; all households the store holds without `householdIds`.
 */
export async function readOwnRecords(
  target: string,
  householdIds?: readonly string[],
): Promise<Map<string, OwnSlotRecord[]>> {
  const records = await openHouseholdRecords(target);
  try {
    const kept = await records.read(householdIds);
    return new Map(
      [...kept].map(([id, slots]) => [
        id,
        slots.flatMap((slot) => (slot.record === null ? [] : [slot.record])),
      ]),
    );
  } finally {
    await records.close();
  }
}

/** The records on a database the driver reaches, creating the tables when missing; closing them closes the driver. */
export async function householdRecordsOn(driver: SqlDriver): Promise<HouseholdRecords> {
  await driver.transaction(async (session) => {
    // Two homes' processes opening one fresh PostgreSQL database at once would both create the tables.
    await session.query("SELECT pg_advisory_xact_lock(hashtext('snippet_household.schema'))");
    for (const statement of SCHEMA) await session.query(statement);
    const [row] = await session.query("SELECT version FROM snippet_household.schema_version");
    if (row === undefined)
      await session.query("INSERT INTO snippet_household.schema_version (version) VALUES ($1)", [
        HOUSEHOLD_SCHEMA_VERSION,
      ]);
    else if (row.version !== HOUSEHOLD_SCHEMA_VERSION)
      throw new Error(
        `they are of version ${String(row.version)}, and this snippet knows version ${HOUSEHOLD_SCHEMA_VERSION} only`,
      );
  });
  return {
    read: (householdIds) => read(driver, householdIds),
    write: (changes) =>
      changes.length === 0 ? Promise.resolve() : driver.transaction((s) => write(s, changes)),
    close: () => driver.close(),
  };
}

async function read(driver: SqlDriver, householdIds?: readonly string[]): Promise<Map<string, KeptSlot[]>> {
  const ids =
    householdIds ??
    (await driver.query("SELECT DISTINCT household FROM snippet_household.slots ORDER BY household")).map(
      (row) => String(row.household),
    );
  const kept = new Map<string, KeptSlot[]>();
  for (let from = 0; from < ids.length; from += HOUSEHOLDS_PER_READ) {
    const rows = await driver.query(
      `SELECT household, slot_index, slot, prices::text AS prices, intent::text AS intent, sent,
        learned::text AS learned, record::text AS record
      FROM snippet_household.slots
      WHERE household IN (SELECT json_array_elements_text($1::json))
      ORDER BY household, slot_index`,
      [JSON.stringify(ids.slice(from, from + HOUSEHOLDS_PER_READ))],
    );
    for (const row of rows) {
      const household = String(row.household);
      const slots = kept.get(household) ?? [];
      if (slots.length === 0) kept.set(household, slots);
      // The household's own store, written by this module alone: read back as written.
      slots.push({
        index: Number(row.slot_index),
        slot: String(row.slot),
        prices: JSON.parse(String(row.prices)),
        intent: JSON.parse(String(row.intent)),
        sent: row.sent === true,
        learned: row.learned === null ? null : JSON.parse(String(row.learned)),
        record: row.record === null ? null : JSON.parse(String(row.record)),
      });
    }
  }
  return kept;
}

/** Each step's statement: it sets its column on rows of the earlier step that lack it. */
const STEPS = {
  sent: { column: "sent", value: "true", unset: "NOT s.sent", before: "TRUE" },
  learned: { column: "learned", value: "x.value", unset: "s.learned IS NULL", before: "TRUE" },
  recorded: {
    column: "record",
    value: "x.value",
    unset: "s.record IS NULL",
    before: "s.learned IS NOT NULL",
  },
} as const;

async function write(session: SqlSession, changes: readonly KeptChange[]): Promise<void> {
  const planned = changes.filter((change) => change.kind === "planned");
  if (planned.length > 0) {
    const inserted = await session.query(
      `INSERT INTO snippet_household.slots (household, slot_index, slot, prices, intent)
      SELECT household, slot_index, slot, prices, intent
      FROM json_to_recordset($1::json) AS x(household text, slot_index int4, slot text, prices json, intent json)
      ON CONFLICT (household, slot_index) DO NOTHING
      RETURNING household, slot_index`,
      [
        JSON.stringify(
          planned.map(({ household, index, slot, prices, intent }) => ({
            household,
            slot_index: index,
            slot,
            prices,
            intent,
          })),
        ),
      ],
    );
    refuseMissing(planned, inserted, "is already planned");
  }
  for (const kind of ["sent", "learned", "recorded"] as const) {
    const steps = changes.filter((change) => change.kind === kind);
    if (steps.length === 0) continue;
    const step = STEPS[kind];
    const updated = await session.query(
      `UPDATE snippet_household.slots AS s SET ${step.column} = ${step.value}
      FROM json_to_recordset($1::json) AS x(household text, slot_index int4, value json)
      WHERE s.household = x.household AND s.slot_index = x.slot_index AND ${step.unset} AND ${step.before}
      RETURNING s.household, s.slot_index`,
      [
        JSON.stringify(
          steps.map((change) => ({
            household: change.household,
            slot_index: change.index,
            value:
              change.kind === "learned" ? change.learned : change.kind === "recorded" ? change.record : null,
          })),
        ),
      ],
    );
    refuseMissing(
      steps,
      updated,
      kind === "recorded"
        ? "is not learned yet, or already recorded"
        : `is not planned, or already ${kind === "sent" ? "sent" : "learned"}`,
    );
  }
}

/** Throws, naming the first change the statement did not write (the transaction then writes nothing). */
function refuseMissing(
  changes: readonly KeptChange[],
  written: readonly Readonly<Record<string, unknown>>[],
  why: string,
): void {
  if (written.length === changes.length) return;
  const done = new Set(written.map((row) => `${String(row.household)}\u0000${String(row.slot_index)}`));
  const missing = changes.find((change) => !done.has(`${change.household}\u0000${change.index}`));
  throw new Error(
    `slot ${missing?.index} of ${missing?.household} ${why}: a ${missing?.kind} step is written once, in order`,
  );
}

/**
 * Writes the changes of many homes together: those that arrive while a transaction is under way go
 * in the next one, and each `write` resolves once its change is durable. A batch that fails is
 * written change by change, so that one home's faulty change fails that home alone.
 */
export class KeptWriter {
  #queue: { change: KeptChange; resolve: () => void; reject: (error: unknown) => void }[] = [];
  #draining: Promise<void> | undefined;

  constructor(private readonly records: HouseholdRecords) {}

  write(change: KeptChange): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ change, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Resolves once every change given so far is written (or failed). */
  async idle(): Promise<void> {
    await this.#draining;
  }

  async #drain(): Promise<void> {
    // The queue is checked and the drain ended in one synchronous step: no change is left behind.
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        await this.records.write(batch.map((entry) => entry.change));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        if (batch.length === 1) batch[0]?.reject(error);
        else
          for (const entry of batch)
            await this.records.write([entry.change]).then(entry.resolve, entry.reject);
      }
    }
    this.#draining = undefined;
  }
}
