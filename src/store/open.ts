/**
 * Chooses the store for a `--db` target: a PostgreSQL server by URL, PGlite in a directory otherwise.
 * @module
 */
import { openPgliteStore } from "./pglite.ts";
import { openPostgresStore } from "./postgres.ts";
import type { RunStore } from "./types.ts";

/**
 * Opens the store at `target`: PostgreSQL for a `postgres://` or `postgresql://` URL, else PGlite in
 * the directory `target`, or in `defaultDir` when there is no target.
 */
export function openStore(target: string | undefined, defaultDir: string): Promise<RunStore> {
  if (target !== undefined && /^postgres(ql)?:\/\//i.test(target)) return openPostgresStore(target);
  return openPgliteStore(target ?? defaultDir);
}
