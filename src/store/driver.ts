/**
 * The little the store needs from a PostgreSQL driver (PGlite or `pg`): one statement with
 * parameters, a transaction, close. Everything else — SQL, row mapping, checks — is shared.
 * @module
 */

/**
 * A statement parameter. Bytes go in the binary format (for `bytea` columns, so that a slot's packed
 * household columns are copied, not hex-encoded); everything else goes as text.
 */
export type SqlParam = string | number | null | Uint8Array;

/**
 * One result row by column name. Both drivers give `int4` as number, `text` as string, `json`/`jsonb`
 * parsed and `bytea` as Uint8Array; they differ on `int8` and `numeric`, so statements select those as
 * `text`.
 */
export type SqlRow = Readonly<Record<string, unknown>>;

export interface SqlSession {
  /** Runs one statement (no multi-statement strings) and returns its rows. */
  query(sql: string, params?: readonly SqlParam[]): Promise<SqlRow[]>;
}

export interface SqlDriver extends SqlSession {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
