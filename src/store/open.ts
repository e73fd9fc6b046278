/**
 * Chooses the store for a `--db` target: a PostgreSQL server by URL, PGlite in a directory otherwise.
 * @module
 */
import { openPgliteStore } from "./pglite.ts";
import { openPostgresStore } from "./postgres.ts";
import type { RunStore } from "./types.ts";

/** Whether a store target names a PostgreSQL server (a `postgres://` or `postgresql://` URL) rather than a folder. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * Opens the store at `target`: PostgreSQL for a `postgres://` or `postgresql://` URL, else PGlite in
 * the directory `target`, or in `defaultDir` when there is no target.
 */
export function openStore(target: string | undefined, defaultDir: string): Promise<RunStore> {
  if (target !== undefined && isPostgresUrl(target)) return openPostgresStore(target);
  return openPgliteStore(target ?? defaultDir);
}
