/**
 * The run store in a PostgreSQL server, through `pg`.
 * @module
 */
import type { Pool } from "pg";
import type { SqlDriver, SqlParam, SqlRow, SqlSession } from "./driver.ts";
import { openSqlStore } from "./sql-store.ts";
import type { RunStore } from "./types.ts";

/**
 * Opens a run store in the PostgreSQL database at `url` (`postgres://user:password@host:port/db`),
 * creating its schema `snippet` when missing.
 * @throws when the server cannot be reached, or the schema is of another version.
 */
export async function openPostgresStore(url: string): Promise<RunStore> {
  const driver = await openPostgresDriver(url);
  try {
    return await openSqlStore(driver);
  } catch (error) {
    await driver.close();
    throw new Error(`PostgreSQL store ${redactPassword(url)}: ${(error as Error).message}`, { cause: error });
  }
}

/** The `pg` driver of the store (exported for tests, which reach the database underneath). */
export async function openPostgresDriver(url: string): Promise<SqlDriver> {
  // Loaded on first use: commands that store nothing start without it.
  const { default: pg } = await import("pg");
  const pool: Pool = new pg.Pool({ connectionString: url });
  // An idle connection the server drops would otherwise crash the process; the next query reconnects.
  pool.on("error", () => {});
  return {
    query: (sql, params) => query(pool, sql, params),
    transaction: async (work) => {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const result = await work({ query: (sql, params) => query(client, sql, params) });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        try {
          await client.query("ROLLBACK");
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        // A connection that cannot even roll back is closed rather than reused.
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

async function query(
  queryable: Pick<Pool, "query">,
  sql: string,
  params: readonly SqlParam[] = [],
): ReturnType<SqlSession["query"]> {
  const result = await queryable.query<SqlRow>(sql, params as SqlParam[]);
  return result.rows;
}

/** A PostgreSQL URL as logs and errors may show it: without its password. */
export function redactPassword(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}
