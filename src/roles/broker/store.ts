/**
 * What the broker keeps across restarts, in PGlite (a folder) or PostgreSQL (a URL): the calendar
 * fixed at the market's first start, the tariffs and network fees published per slot, the public
 * board (each slot's phase and figures, and whether its metering is closed), the board's numbered
 * events, the billing periods closed, and the signed requests taken (so that a replay stays refused
 * after a restart). Only public data: no intent, fill, reading or bill of any household.
 * @module
 */
import type { BillingModel } from "../../billing/types.ts";
import type { SqlDriver, SqlRow, SqlSession } from "../../store/driver.ts";
import { isPostgresUrl } from "../../store/open.ts";
import { openPgliteDriver } from "../../store/pglite.ts";
import { openPostgresDriver, redactPassword } from "../../store/postgres.ts";
import { OperationalError } from "../../system/errors.ts";
import type { BoardEvent, BoardSlot, SlotPrices } from "./board.ts";
import type { CalendarSettings } from "./calendar.ts";
import type { DeclaredCalendar } from "./config.ts";

/** The calendar of a market, fixed at its first start: as declared, and as it runs. */
export interface StoredCalendar {
  readonly declared: DeclaredCalendar;
  readonly billingModel: BillingModel;
  readonly settings: CalendarSettings;
}

/** A slot on the board, and what the broker did to it beyond its phase. */
export interface SlotRecord {
  readonly board: BoardSlot;
  /** Whether the nodes closed its metering (the readings they hold are kept; done once only). */
  readonly meteringClosed: boolean;
}

/** A zone's limits as the DSO publishes them. */
export type ZoneLimit = NonNullable<BoardSlot["zoneLimits"]>[number];

/** What was published for a slot so far: the supplier's tariff and the DSO's network fee and limits. */
export interface SlotTariffs {
  readonly supplier?: Pick<SlotPrices, "feedIn" | "retail">;
  readonly network?: { readonly networkFee: number; readonly zoneLimits?: readonly ZoneLimit[] };
}

/** How far the market got: slots in order, so each figure is also the index of the first slot not there. */
export interface MarketProgress {
  /** Slots cleared or left uncleared. */
  readonly decided: number;
  /** Slots whose metering is closed. */
  readonly metered: number;
  /** Slots billed (or posted). */
  readonly billed: number;
  /** Slots posted. */
  readonly posted: number;
}

export interface BrokerStore {
  /** Where it is, as messages name it (a URL without its password). */
  readonly target: string;
  /** Stores the calendar when none is stored yet. @returns the stored one (compare it with yours). */
  fixCalendar(proposed: StoredCalendar): Promise<StoredCalendar>;
  /**
   * Stores tariffs (replacing earlier ones) of slots whose prices are not yet on the board.
   * @returns the indices of the slots whose prices are on the board already, left as they are.
   */
  publishTariffs(
    supplier: string,
    entries: readonly { index: number; feedIn: number; retail: number }[],
  ): Promise<number[]>;
  /** As {@link publishTariffs}, for the DSO's network fees and zone limits. */
  publishNetwork(
    entries: readonly { index: number; networkFee: number; zoneLimits?: readonly ZoneLimit[] }[],
  ): Promise<number[]>;
  tariffs(index: number): Promise<SlotTariffs>;
  slot(index: number): Promise<SlotRecord | null>;
  /** The board's slots with index in `[from, to)`, in order. */
  slots(from: number, to: number): Promise<BoardSlot[]>;
  /**
   * Changes one slot of the board in one transaction, serialised with the publications (so a slot's
   * prices are taken from exactly what was published when it opens): `change` gets the slot as it is
   * and its tariffs, and gives its new state, or undefined to leave it. @returns the change's event.
   */
  update(
    index: number,
    change: (current: SlotRecord | null, tariffs: SlotTariffs) => SlotRecord | undefined,
  ): Promise<BoardEvent | undefined>;
  /** The events after `after`, in order, at most `limit`. */
  events(after: number, limit: number): Promise<BoardEvent[]>;
  progress(): Promise<MarketProgress>;
  isPeriodClosed(period: string): Promise<boolean>;
  closePeriod(period: string): Promise<void>;
  /** Remembers a signed request's id until it could no longer be replayed anyway. */
  takeRequest(key: string, expiresAtMs: number): Promise<void>;
  /** The request ids taken that expire after `nowMs`. */
  takenRequests(nowMs: number): Promise<[key: string, expiresAtMs: number][]>;
  close(): Promise<void>;
}

/**
 * Opens the broker's store at `target`: a PostgreSQL database by `postgres://` URL, else a PGlite
 * folder (created when missing).
 * @throws {@link OperationalError} naming the store and the cause (locked, unreachable, newer schema).
 */
export async function openBrokerStore(target: string): Promise<BrokerStore> {
  const shown = isPostgresUrl(target) ? redactPassword(target) : target;
  let driver: SqlDriver;
  try {
    driver = isPostgresUrl(target) ? await openPostgresDriver(target) : await openPgliteDriver(target);
  } catch (error) {
    throw new OperationalError(`cannot open the broker's store ${shown}: ${reasonOf(error)}`);
  }
  try {
    return await brokerStoreOn(driver, shown);
  } catch (error) {
    await driver.close();
    throw new OperationalError(`cannot open the broker's store ${shown}: ${reasonOf(error)}`);
  }
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 0 ? message : String(code);
}

/** The version of the tables below; a change to them gets a new one and a migration. */
const SCHEMA_VERSION = 1;
const SCHEMA = "snippet_broker";

const TABLES: readonly string[] = [
  `-- The market's calendar, fixed at its first start: one row.
  CREATE TABLE ${SCHEMA}.calendar (
    id int4 PRIMARY KEY CHECK (id = 1),
    declared json NOT NULL,
    billing_model text NOT NULL,
    settings json NOT NULL
  )`,
  `-- The supplier's tariff of a slot, price units; the latest publication before the slot opens.
  CREATE TABLE ${SCHEMA}.tariffs (
    slot_index int4 PRIMARY KEY,
    supplier text NOT NULL,
    feed_in int4 NOT NULL,
    retail int4 NOT NULL
  )`,
  `-- The DSO's network fee and zone limits of a slot.
  CREATE TABLE ${SCHEMA}.network (
    slot_index int4 PRIMARY KEY,
    network_fee int4 NOT NULL,
    zone_limits json
  )`,
  `-- The board: each slot's public state (board.ts BoardSlot).
  CREATE TABLE ${SCHEMA}.board (
    slot_index int4 PRIMARY KEY,
    phase text NOT NULL,
    slot json NOT NULL,
    metering_closed boolean NOT NULL
  )`,
  `-- Every change of the board, numbered from 0: the live updates a client resumes from.
  CREATE TABLE ${SCHEMA}.events (
    seq int4 PRIMARY KEY,
    slot json NOT NULL
  )`,
  `CREATE TABLE ${SCHEMA}.periods (period text PRIMARY KEY)`,
  `-- Signed requests taken (signer and request id), until they expire.
  CREATE TABLE ${SCHEMA}.requests (key text PRIMARY KEY, expires_at_ms int8 NOT NULL)`,
];

/** Serialises a transaction with every other that holds it: publications and board changes. */
const PRICES_LOCK = `SELECT pg_advisory_xact_lock(hashtext('${SCHEMA}.prices'))`;

/** The broker's store on an open driver (which it closes); `target` names it in messages. */
export async function brokerStoreOn(driver: SqlDriver, target: string): Promise<BrokerStore> {
  await prepareSchema(driver);
  const slotRecordOf = (row: SqlRow): SlotRecord => ({
    board: row.slot as BoardSlot,
    meteringClosed: row.metering_closed === true,
  });
  const readSlot = async (session: SqlSession, index: number) => {
    const [row] = await session.query(
      `SELECT slot, metering_closed FROM ${SCHEMA}.board WHERE slot_index = $1`,
      [index],
    );
    return row === undefined ? null : slotRecordOf(row);
  };
  const readTariffs = async (session: SqlSession, index: number): Promise<SlotTariffs> => {
    const [supplier] = await session.query(
      `SELECT feed_in, retail FROM ${SCHEMA}.tariffs WHERE slot_index = $1`,
      [index],
    );
    const [network] = await session.query(
      `SELECT network_fee, zone_limits FROM ${SCHEMA}.network WHERE slot_index = $1`,
      [index],
    );
    return {
      ...(supplier === undefined
        ? {}
        : { supplier: { feedIn: supplier.feed_in as number, retail: supplier.retail as number } }),
      ...(network === undefined
        ? {}
        : {
            network: {
              networkFee: network.network_fee as number,
              ...(network.zone_limits === null ? {} : { zoneLimits: network.zone_limits as ZoneLimit[] }),
            },
          }),
    };
  };
  /** Stores what `write` gives for each slot whose prices are not on the board; @returns the others. */
  const publish = <T extends { index: number }>(
    entries: readonly T[],
    write: (session: SqlSession, entry: T) => Promise<unknown>,
  ) =>
    driver.transaction(async (session) => {
      await session.query(PRICES_LOCK);
      const priced = new Set(
        (
          await session.query(
            `SELECT slot_index FROM ${SCHEMA}.board WHERE slot_index = ANY($1::int4[]) AND (slot::jsonb ? 'prices')`,
            [`{${entries.map((entry) => entry.index).join(",")}}`],
          )
        ).map((row) => row.slot_index as number),
      );
      for (const entry of entries) if (!priced.has(entry.index)) await write(session, entry);
      return entries.map((entry) => entry.index).filter((index) => priced.has(index));
    });

  return {
    target,
    fixCalendar: (proposed) =>
      driver.transaction(async (session) => {
        await session.query(
          `INSERT INTO ${SCHEMA}.calendar (id, declared, billing_model, settings) VALUES (1, $1, $2, $3)
           ON CONFLICT (id) DO NOTHING`,
          [JSON.stringify(proposed.declared), proposed.billingModel, JSON.stringify(proposed.settings)],
        );
        const [row] = await session.query(
          `SELECT declared, billing_model, settings FROM ${SCHEMA}.calendar WHERE id = 1`,
        );
        const stored = row as SqlRow;
        return {
          declared: stored.declared as DeclaredCalendar,
          billingModel: stored.billing_model as BillingModel,
          settings: stored.settings as CalendarSettings,
        };
      }),
    publishTariffs: (supplier, entries) =>
      publish(entries, (session, { index, feedIn, retail }) =>
        session.query(
          `INSERT INTO ${SCHEMA}.tariffs (slot_index, supplier, feed_in, retail) VALUES ($1, $2, $3, $4)
           ON CONFLICT (slot_index) DO UPDATE SET supplier = $2, feed_in = $3, retail = $4`,
          [index, supplier, feedIn, retail],
        ),
      ),
    publishNetwork: (entries) =>
      publish(entries, (session, { index, networkFee, zoneLimits }) =>
        session.query(
          `INSERT INTO ${SCHEMA}.network (slot_index, network_fee, zone_limits) VALUES ($1, $2, $3)
           ON CONFLICT (slot_index) DO UPDATE SET network_fee = $2, zone_limits = $3`,
          [index, networkFee, zoneLimits === undefined ? null : JSON.stringify(zoneLimits)],
        ),
      ),
    tariffs: (index) => readTariffs(driver, index),
    slot: (index) => readSlot(driver, index),
    slots: async (from, to) =>
      (
        await driver.query(
          `SELECT slot FROM ${SCHEMA}.board WHERE slot_index >= $1 AND slot_index < $2 ORDER BY slot_index`,
          [from, to],
        )
      ).map((row) => row.slot as BoardSlot),
    update: (index, change) =>
      driver.transaction(async (session) => {
        await session.query(PRICES_LOCK);
        const next = change(await readSlot(session, index), await readTariffs(session, index));
        if (next === undefined) return undefined;
        if (next.board.index !== index)
          throw new Error(`the board's slot ${index} cannot be written as slot ${next.board.index}`);
        await session.query(
          `INSERT INTO ${SCHEMA}.board (slot_index, phase, slot, metering_closed) VALUES ($1, $2, $3, $4::boolean)
           ON CONFLICT (slot_index) DO UPDATE SET phase = $2, slot = $3, metering_closed = $4::boolean`,
          [index, next.board.phase, JSON.stringify(next.board), String(next.meteringClosed)],
        );
        const [row] = await session.query(
          `INSERT INTO ${SCHEMA}.events (seq, slot)
           SELECT COALESCE(MAX(seq) + 1, 0), $1 FROM ${SCHEMA}.events RETURNING seq`,
          [JSON.stringify(next.board)],
        );
        return { seq: (row as SqlRow).seq as number, type: "slot", slot: next.board };
      }),
    events: async (after, limit) =>
      (
        await driver.query(`SELECT seq, slot FROM ${SCHEMA}.events WHERE seq > $1 ORDER BY seq LIMIT $2`, [
          after,
          limit,
        ])
      ).map((row) => ({ seq: row.seq as number, type: "slot", slot: row.slot as BoardSlot })),
    progress: async () => {
      const [row] = await driver.query(
        `SELECT count(*) FILTER (WHERE phase <> 'open')::int4 AS decided,
                count(*) FILTER (WHERE metering_closed)::int4 AS metered,
                count(*) FILTER (WHERE phase IN ('billed', 'posted'))::int4 AS billed,
                count(*) FILTER (WHERE phase = 'posted')::int4 AS posted
         FROM ${SCHEMA}.board`,
      );
      const counts = row as SqlRow;
      return {
        decided: counts.decided as number,
        metered: counts.metered as number,
        billed: counts.billed as number,
        posted: counts.posted as number,
      };
    },
    isPeriodClosed: async (period) =>
      (await driver.query(`SELECT 1 FROM ${SCHEMA}.periods WHERE period = $1`, [period])).length > 0,
    closePeriod: async (period) => {
      await driver.query(`INSERT INTO ${SCHEMA}.periods (period) VALUES ($1) ON CONFLICT DO NOTHING`, [
        period,
      ]);
    },
    takeRequest: (key, expiresAtMs) =>
      driver.transaction(async (session) => {
        // Expired ids could not be replayed anyway: they go as new ones come.
        await session.query(`DELETE FROM ${SCHEMA}.requests WHERE expires_at_ms < $1`, [Date.now()]);
        await session.query(
          `INSERT INTO ${SCHEMA}.requests (key, expires_at_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [key, expiresAtMs],
        );
      }),
    takenRequests: async (nowMs) =>
      (
        await driver.query(
          `SELECT key, expires_at_ms::text AS expires FROM ${SCHEMA}.requests WHERE expires_at_ms >= $1`,
          [nowMs],
        )
      ).map((row) => [row.key as string, Number(row.expires)]),
    close: () => driver.close(),
  };
}

/**
 * Creates the broker's tables when the database has none.
 * @throws when a newer snippet wrote them.
 */
async function prepareSchema(driver: SqlDriver): Promise<void> {
  await driver.transaction(async (session) => {
    await session.query(`SELECT pg_advisory_xact_lock(hashtext('${SCHEMA}.schema'))`);
    await session.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await session.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_version (version int4 NOT NULL)`);
    const [row] = await session.query(`SELECT version FROM ${SCHEMA}.schema_version`);
    if (row === undefined) {
      for (const statement of TABLES) await session.query(statement);
      await session.query(`INSERT INTO ${SCHEMA}.schema_version (version) VALUES ($1)`, [SCHEMA_VERSION]);
      return;
    }
    if (row.version !== SCHEMA_VERSION)
      throw new Error(
        `it has broker schema version ${row.version}, and this snippet knows only version ${SCHEMA_VERSION}` +
          `${Number(row.version) > SCHEMA_VERSION ? ": upgrade snippet to use it" : ""}`,
      );
  });
}
