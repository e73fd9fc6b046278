/**
 * The run store in embedded PGlite (PostgreSQL in WebAssembly), persisted in a directory.
 * @module
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PGlite, QueryOptions } from "@electric-sql/pglite";
import type { SqlDriver, SqlParam, SqlRow } from "./driver.ts";
import { openSqlStore } from "./sql-store.ts";
import type { RunStore } from "./types.ts";

const BYTEA_OID = 17;
/** The lock file in a data directory: PGlite takes none, and two processes writing one directory corrupt it. */
const LOCK_FILE = "snippet.lock";

const QUERY_OPTIONS: QueryOptions = {
  // PGlite's own bytea conversions go byte by byte through hex strings: far too slow for a year of
  // slots. Bytes given as they are go in the binary format (driver.ts); hex comes back from `bytea_out`.
  serializers: { [BYTEA_OID]: (bytes: Uint8Array) => bytes as unknown as string },
  parsers: { [BYTEA_OID]: (hex: string) => Buffer.from(hex.slice(2), "hex") },
};

/**
 * Opens a run store in PGlite, persisted in `dataDir` (created when missing), or in memory without it.
 * Always close it: an open PGlite keeps the process alive.
 * @throws when another live process has the directory open, or its schema is of another version.
 */
export async function openPgliteStore(dataDir?: string): Promise<RunStore> {
  const driver = await openPgliteDriver(dataDir);
  try {
    return await openSqlStore(driver);
  } catch (error) {
    await driver.close();
    throw new Error(`PGlite store ${dataDir ?? "in memory"}: ${(error as Error).message}`, { cause: error });
  }
}

/** The PGlite driver of the store (exported for tests, which reach the database underneath). */
export async function openPgliteDriver(dataDir?: string): Promise<SqlDriver> {
  const unlock = dataDir === undefined ? () => {} : lockDataDir(dataDir);
  let db: PGlite;
  try {
    // Loaded on first use: commands that store nothing start without it.
    const { PGlite } = await import("@electric-sql/pglite");
    db = await PGlite.create(dataDir);
  } catch (error) {
    unlock();
    throw error;
  }
  return {
    query: async (sql, params) => (await db.query<SqlRow>(sql, params as SqlParam[], QUERY_OPTIONS)).rows,
    transaction: (work) =>
      db.transaction((tx) =>
        work({
          query: async (sql, params) =>
            (await tx.query<SqlRow>(sql, params as SqlParam[], QUERY_OPTIONS)).rows,
        }),
      ),
    close: async () => {
      try {
        await db.close();
      } finally {
        unlock();
      }
    },
  };
}

/**
 * Takes the directory's lock file for this process, taking over one left by a dead process (a run
 * killed with SIGKILL).
 * @returns the function that releases it.
 * @throws when a live process holds it.
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, LOCK_FILE);
  for (;;) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: "wx" });
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number(readFileSync(lockPath, "utf8"));
    if (isAlive(holder))
      throw new Error(
        `PGlite store ${dataDir} is open in process ${holder}; PGlite allows one process per directory ` +
          `(remove ${lockPath} if that process is not snippet)`,
      );
    rmSync(lockPath, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
