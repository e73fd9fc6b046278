/**
 * A node's own durable store: an append-only journal of its state's changes, in PGlite (a folder) or
 * PostgreSQL (a URL), or in memory. Changes are written in batches (one transaction per batch: many
 * households' intents cost one commit) and replayed in order at start.
 * @module
 */

import type { StateChange } from "../../private/changes.ts";
import type { SqlDriver } from "../../store/driver.ts";
import { isPostgresUrl } from "../../store/open.ts";
import { openPgliteDriver } from "../../store/pglite.ts";
import { openPostgresDriver, redactPassword } from "../../store/postgres.ts";

/** Where a node's journal lives. */
export interface NodeJournal {
  /** Who the journal belongs to, checked at open so that no node starts from another's state. */
  readonly owner: string;
  /** Every entry in the order written. */
  entries(): Promise<StateChange[]>;
  /** Writes entries as one batch: all of them, or none. */
  append(entries: readonly StateChange[]): Promise<void>;
  close(): Promise<void>;
}

/** A journal in memory: for nodes whose state may die with them (tests, benchmarks). */
export function memoryJournal(owner: string): NodeJournal {
  const batches: (readonly StateChange[])[] = [];
  return {
    owner,
    entries: async () => batches.flat(),
    append: async (entries) => {
      // Kept as they are, not serialised: a state's changes are new objects that no one changes later
      // (the journals in a database, under the same contract tests, check that they serialise).
      batches.push([...entries]);
    },
    close: async () => {},
  };
}

const SCHEMA = [
  `create table if not exists snippet_node_owner (owner text not null)`,
  `create table if not exists snippet_node_journal (seq bigserial primary key, entries text not null)`,
];

/**
 * Opens the journal at `target`: PostgreSQL for a `postgres://` URL, PGlite in the folder `target`
 * otherwise, or in memory for `memory`. A journal written by another owner is refused.
 */
export async function openNodeJournal(target: string, owner: string): Promise<NodeJournal> {
  if (target === "memory") return memoryJournal(owner);
  const driver = isPostgresUrl(target) ? await openPostgresDriver(target) : await openPgliteDriver(target);
  try {
    for (const statement of SCHEMA) await driver.query(statement);
    await driver.transaction(async (session) => {
      const [row] = await session.query("select owner from snippet_node_owner");
      if (row === undefined)
        await session.query("insert into snippet_node_owner (owner) values ($1)", [owner]);
      else if (row.owner !== owner)
        throw new Error(`it holds the state of ${String(row.owner)}, not of ${owner}`);
    });
  } catch (error) {
    await driver.close();
    throw new Error(`node store ${redactPassword(target)}: ${(error as Error).message}`, { cause: error });
  }
  return sqlJournal(driver, owner);
}

function sqlJournal(driver: SqlDriver, owner: string): NodeJournal {
  return {
    owner,
    async entries() {
      const rows = await driver.query("select entries from snippet_node_journal order by seq");
      return rows.flatMap((row) => JSON.parse(String(row.entries)) as StateChange[]);
    },
    async append(entries) {
      await driver.query("insert into snippet_node_journal (entries) values ($1)", [JSON.stringify(entries)]);
    },
    close: () => driver.close(),
  };
}

/**
 * Writes a journal's entries in batches: changes recorded while a batch is being written go into the
 * next one, and each `flushed()` resolves once everything recorded before it is durable. A failed
 * write fails every wait on it and every later one: a node that cannot persist must not acknowledge.
 */
export class GroupCommit {
  #queued: StateChange[] = [];
  /** The last write begun or scheduled. */
  #writing: Promise<void> = Promise.resolve();
  /** The write scheduled after the current one, not begun yet: it takes everything queued when it begins. */
  #next: Promise<void> | undefined;
  #failure: Error | undefined;

  constructor(readonly journal: NodeJournal) {}

  record(entry: StateChange): void {
    this.#queued.push(entry);
  }

  /** Resolves once every entry recorded so far is written. */
  flushed(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#queued.length === 0) return this.#writing;
    if (this.#next !== undefined) return this.#next;
    const next = this.#writing.then(async () => {
      const batch = this.#queued;
      this.#queued = [];
      this.#next = undefined;
      try {
        await this.journal.append(batch);
      } catch (error) {
        this.#failure = error instanceof Error ? error : new Error(String(error));
        throw this.#failure;
      }
    });
    this.#next = next;
    this.#writing = next;
    return next;
  }
}
