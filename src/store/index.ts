/**
 * The store domain's public surface: persistence of simulation runs, slot by slot, in embedded PGlite
 * (a directory) or a PostgreSQL server (a URL), one schema for both.
 * @module
 */
export { openStore } from "./open.ts";
export { openPgliteStore } from "./pglite.ts";
export { openPostgresStore } from "./postgres.ts";
export type { RunDescription, RunStore } from "./types.ts";
