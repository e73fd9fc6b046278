/**
 * The SQL schema of the run store, one for PGlite and PostgreSQL, versioned: created when missing,
 * refused when a newer snippet wrote it.
 * @module
 */
import type { SqlDriver } from "./driver.ts";

/** The version this code reads and writes; a change to the tables below gets a new one and a migration. */
export const SCHEMA_VERSION = 1;

/** Version 1, statement by statement (the drivers take one statement per query). */
const SCHEMA_V1: readonly string[] = [
  `-- One row per simulation run: what identifies it, checked again when it is resumed.
  CREATE TABLE snippet.runs (
    id text PRIMARY KEY,
    scenario text NOT NULL,
    seed int8 NOT NULL,
    -- The whole configuration the run started with; a resume must give the same JSON value (key order
    -- does not matter).
    config jsonb NOT NULL,
    -- JSON array of the household ids: position k of every household column of snippet.slots is
    -- household_ids[k].
    household_ids jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `-- One row per slot of a run (a billing/record.ts SlotRecord). A year of 15-minute slots is 35,040 rows
  -- whatever the community's size: a row per household and slot would be 35 million for 1,000
  -- households, far too slow to insert into PGlite.
  CREATE TABLE snippet.slots (
    run_id text NOT NULL REFERENCES snippet.runs (id) ON DELETE CASCADE,
    -- From 0; the slots of a run are always 0..n-1, appended in order.
    slot_index int4 NOT NULL CHECK (slot_index >= 0),
    -- Slot start, ISO 8601, exactly as the simulation wrote it.
    slot text NOT NULL,
    -- Tariffs in price units (0.01 ct/kWh).
    feed_in_price int4 NOT NULL,
    retail_price int4 NOT NULL,
    network_fee_price int4 NOT NULL,
    -- NULL: the community auction did not trade.
    clearing_price int4,
    community_volume_wh int8 NOT NULL,
    -- The ragged parts, as JSON arrays of tuples (objects would repeat their keys on every trade):
    -- the slot's bilateral trades in the order they were agreed, [[seller, buyer, volume_wh, price], ...].
    bilateral_trades json NOT NULL,
    -- ZoneOutcome[] as objects; NULL when the slot had no zones (not the same as an empty list).
    zones json,
    -- The households' bilateral commitments, [[household position, partner, side, volume_wh, price],
    -- ...] in household order, then each household's own order; a household absent has none.
    household_bilateral json NOT NULL,
    -- The household columns: one value per household in the order of runs.household_ids, packed as
    -- tagged variable-length integers (src/store/packing.ts: per value, a first byte C TT MMMMM with C
    -- "another byte follows", TT 00 null / 01 non-negative / 10 negative and the magnitude's low 5 bits,
    -- then bytes C MMMMMMM with its next 7 bits each). Energy in Wh, prices in price units, money in
    -- money units (1e-7 EUR). Not int8[]: PostgreSQL converts an array element by element, and a year
    -- of 1,000 households took 2–3 times as long to store that way; bytea is copied as it is.
    -- The community order after bilateral trades: side 0 buy, 1 sell; all three null: no order.
    order_side bytea NOT NULL,
    order_volume_wh bytea NOT NULL,
    order_limit_price bytea NOT NULL,
    -- Commitments; community_price null: the slot's clearing price applies.
    community_buy_wh bytea NOT NULL,
    community_sell_wh bytea NOT NULL,
    community_price bytea NOT NULL,
    supplier_buy_wh bytea NOT NULL,
    supplier_sell_wh bytea NOT NULL,
    -- Meter.
    import_wh bytea NOT NULL,
    export_wh bytea NOT NULL,
    -- Bill (billing/types.ts HouseholdSlotBill).
    deviation_wh bytea NOT NULL,
    money bytea NOT NULL,
    community_money bytea NOT NULL,
    bilateral_money bytea NOT NULL,
    supplier_money bytea NOT NULL,
    network_fee_money bytea NOT NULL,
    deviation_money bytea NOT NULL,
    plain_tariff_money bytea NOT NULL,
    PRIMARY KEY (run_id, slot_index)
  )`,
  `-- The packed columns hardly compress, and trying (pglz) cost a fifth to a third of an append's time.
  ALTER TABLE snippet.slots
    ALTER COLUMN order_side SET STORAGE EXTERNAL,
    ALTER COLUMN order_volume_wh SET STORAGE EXTERNAL,
    ALTER COLUMN order_limit_price SET STORAGE EXTERNAL,
    ALTER COLUMN community_buy_wh SET STORAGE EXTERNAL,
    ALTER COLUMN community_sell_wh SET STORAGE EXTERNAL,
    ALTER COLUMN community_price SET STORAGE EXTERNAL,
    ALTER COLUMN supplier_buy_wh SET STORAGE EXTERNAL,
    ALTER COLUMN supplier_sell_wh SET STORAGE EXTERNAL,
    ALTER COLUMN import_wh SET STORAGE EXTERNAL,
    ALTER COLUMN export_wh SET STORAGE EXTERNAL,
    ALTER COLUMN deviation_wh SET STORAGE EXTERNAL,
    ALTER COLUMN money SET STORAGE EXTERNAL,
    ALTER COLUMN community_money SET STORAGE EXTERNAL,
    ALTER COLUMN bilateral_money SET STORAGE EXTERNAL,
    ALTER COLUMN supplier_money SET STORAGE EXTERNAL,
    ALTER COLUMN network_fee_money SET STORAGE EXTERNAL,
    ALTER COLUMN deviation_money SET STORAGE EXTERNAL,
    ALTER COLUMN plain_tariff_money SET STORAGE EXTERNAL`,
  `-- A household's statement for one billing period (billing/period.ts Statement).
  CREATE TABLE snippet.statements (
    run_id text NOT NULL REFERENCES snippet.runs (id) ON DELETE CASCADE,
    -- e.g. "2026-06"; saving a period replaces all its statements.
    period text NOT NULL,
    -- The statements' order as saved.
    position int4 NOT NULL,
    household_id text NOT NULL,
    slots int4 NOT NULL,
    -- Energy by stage over the period, Wh.
    community_bought_wh int8 NOT NULL,
    community_sold_wh int8 NOT NULL,
    bilateral_bought_wh int8 NOT NULL,
    bilateral_sold_wh int8 NOT NULL,
    donated_wh int8 NOT NULL,
    donations_received_wh int8 NOT NULL,
    supplier_bought_wh int8 NOT NULL,
    supplier_sold_wh int8 NOT NULL,
    imported_wh int8 NOT NULL,
    exported_wh int8 NOT NULL,
    deviation_wh int8 NOT NULL,
    -- Money in money units (1e-7 EUR), integers of any size: numeric keeps totals beyond 2^63 exact.
    community_money numeric NOT NULL,
    bilateral_money numeric NOT NULL,
    supplier_money numeric NOT NULL,
    network_fees_money numeric NOT NULL,
    deviation_charges_money numeric NOT NULL,
    plain_tariff_money numeric NOT NULL,
    total_money numeric NOT NULL,
    plain_tariff_baseline_money numeric NOT NULL,
    saving_money numeric NOT NULL,
    PRIMARY KEY (run_id, period, position),
    UNIQUE (run_id, period, household_id)
  )`,
];

/**
 * Creates the schema when the database has none; does nothing when it is current.
 * @throws when the database was written by a newer schema version.
 */
export async function prepareSchema(driver: SqlDriver): Promise<void> {
  await driver.transaction(async (session) => {
    // Two processes opening one fresh PostgreSQL database at once would both create the tables.
    await session.query("SELECT pg_advisory_xact_lock(hashtext('snippet.schema'))");
    await session.query("CREATE SCHEMA IF NOT EXISTS snippet");
    await session.query(
      `-- The schema version of the database: a single row.
      CREATE TABLE IF NOT EXISTS snippet.schema_version (version int4 NOT NULL)`,
    );
    const [row] = await session.query("SELECT version FROM snippet.schema_version");
    if (row === undefined) {
      for (const statement of SCHEMA_V1) await session.query(statement);
      await session.query("INSERT INTO snippet.schema_version (version) VALUES ($1)", [SCHEMA_VERSION]);
      return;
    }
    if (row.version !== SCHEMA_VERSION)
      throw new Error(
        `the database has run store schema version ${row.version}, and this snippet knows only version ` +
          `${SCHEMA_VERSION}${Number(row.version) > SCHEMA_VERSION ? ": upgrade snippet to use it" : ""}`,
      );
  });
}
