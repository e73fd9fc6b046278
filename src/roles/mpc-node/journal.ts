/**
 * A node's own durable store: an append-only journal of its state's changes, in PGlite (a folder) or
 * PostgreSQL (a URL), or in memory. Changes are written in batches (one transaction per batch: many
 * households' intents cost one commit) and replayed in order at start. Compaction replaces the
 * entries with a snapshot of the state they lead to, written in parts beside them while appends go
 * on, then made to stand in one short transaction; so replay time and disk stay in proportion to the
 * state, not to the node's age.
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
  /** Every entry in the order written: the last snapshot's, then those appended after its cut. */
  entries(): Promise<StateChange[]>;
  /** Writes entries as one batch: all of them, or none. */
  append(entries: readonly StateChange[]): Promise<void>;
  /**
   * Replaces every entry appended so far with `snapshot`; entries appended after this call stay
   * after it. Call it with no append in flight. The snapshot is written in the background, in parts,
   * so that appends go on meanwhile; it stands, and the entries it replaces are gone, once the
   * returned promise resolves (if the process dies before, the journal is as it was).
   */
  compact(snapshot: readonly StateChange[]): Promise<void>;
  /**
   * Bytes stored: of the last snapshot, and of what was appended after its cut. Zero where nothing
   * is serialised (in memory), so such a journal is compacted only when asked.
   */
  size(): JournalSize;
  /** Waits for a compaction under way, then closes. */
  close(): Promise<void>;
}

export interface JournalSize {
  readonly snapshotBytes: number;
  readonly appendedBytes: number;
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
    compact: async (snapshot) => {
      batches.splice(0, batches.length, [...snapshot]);
    },
    size: () => ({ snapshotBytes: 0, appendedBytes: 0 }),
    close: async () => {},
  };
}

const SCHEMA = [
  `create table if not exists snippet_node_owner (owner text not null)`,
  `create table if not exists snippet_node_journal (seq bigserial primary key, entries text not null)`,
  // A snapshot's parts, by generation; only the head's generation counts.
  `create table if not exists snippet_node_snapshot (generation integer not null, part integer not null, entries text not null, primary key (generation, part))`,
  // The snapshot that stands, and the last journal entry it holds: replay reads the entries after it.
  `create table if not exists snippet_node_snapshot_head (generation integer not null, through_seq bigint not null)`,
];

/**
 * A snapshot's parts hold this many bytes of JSON at most (one large change may make a part larger):
 * a snapshot of 10,000 households' kept readings is hundreds of megabytes, beyond a string's limit,
 * and an append waits for one part's write at most.
 */
const SNAPSHOT_PART_BYTES = 4 << 20;

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
      const [head] = await session.query("select generation from snippet_node_snapshot_head");
      if (head === undefined)
        await session.query("insert into snippet_node_snapshot_head (generation, through_seq) values (0, 0)");
    });
    return await sqlJournal(driver, owner);
  } catch (error) {
    await driver.close();
    throw new Error(`node store ${redactPassword(target)}: ${(error as Error).message}`, { cause: error });
  }
}

/** The snapshot that stands: its generation, and the last journal entry it holds. */
interface SnapshotHead {
  generation: number;
  throughSeq: number;
}

async function sqlJournal(driver: SqlDriver, owner: string): Promise<NodeJournal> {
  const [headRow] = await driver.query(
    "select generation, through_seq::text as through_seq from snippet_node_snapshot_head",
  );
  let head: SnapshotHead = {
    generation: Number(headRow?.generation),
    throughSeq: Number(headRow?.through_seq),
  };
  const [sizes] = await driver.query(
    `select (select coalesce(sum(length(entries)), 0) from snippet_node_snapshot where generation = $1)::text as snapshot,
            (select coalesce(sum(length(entries)), 0) from snippet_node_journal where seq > $2)::text as appended,
            (select coalesce(max(seq), 0) from snippet_node_journal)::text as last_seq`,
    [head.generation, head.throughSeq],
  );
  let size: JournalSize = { snapshotBytes: Number(sizes?.snapshot), appendedBytes: Number(sizes?.appended) };
  let lastSeq = Number(sizes?.last_seq);
  let appending = 0;
  let compacting: Promise<void> = Promise.resolve();
  return {
    owner,
    async entries() {
      const parts = await driver.query(
        "select entries from snippet_node_snapshot where generation = $1 order by part",
        [head.generation],
      );
      const rows = await driver.query(
        "select entries from snippet_node_journal where seq > $1 order by seq",
        [head.throughSeq],
      );
      return [...parts, ...rows].flatMap((row) => JSON.parse(String(row.entries)) as StateChange[]);
    },
    async append(entries) {
      const text = JSON.stringify(entries);
      appending++;
      try {
        const [row] = await driver.query(
          "insert into snippet_node_journal (entries) values ($1) returning seq::text as seq",
          [text],
        );
        lastSeq = Math.max(lastSeq, Number(row?.seq));
      } finally {
        appending--;
      }
      size = { ...size, appendedBytes: size.appendedBytes + text.length };
    },
    compact(snapshot) {
      if (appending > 0)
        return Promise.reject(new Error("a journal may be compacted only with no append in flight"));
      const cut = { throughSeq: lastSeq, appendedBytes: size.appendedBytes };
      const generation = head.generation + 1;
      // After the one before it, even if that one failed (it left the journal as it was).
      compacting = compacting
        .catch(() => undefined)
        .then(async () => {
          // Parts of a compaction a crash cut short are never read (their generation never stood).
          await driver.query("delete from snippet_node_snapshot where generation <> $1", [head.generation]);
          let bytes = 0;
          let part = 0;
          for (const text of snapshotParts(snapshot)) {
            await driver.query(
              "insert into snippet_node_snapshot (generation, part, entries) values ($1, $2, $3)",
              [generation, part++, text],
            );
            bytes += text.length;
            // Serialising the next part waits its turn behind the clients' messages.
            await new Promise((resolve) => setImmediate(resolve));
          }
          await driver.transaction(async (session) => {
            await session.query("update snippet_node_snapshot_head set generation = $1, through_seq = $2", [
              generation,
              cut.throughSeq,
            ]);
            await session.query("delete from snippet_node_snapshot where generation <> $1", [generation]);
            await session.query("delete from snippet_node_journal where seq <= $1", [cut.throughSeq]);
          });
          head = { generation, throughSeq: cut.throughSeq };
          size = { snapshotBytes: bytes, appendedBytes: size.appendedBytes - cut.appendedBytes };
        });
      return compacting;
    },
    size: () => size,
    async close() {
      await compacting.catch(() => undefined);
      await driver.close();
    },
  };
}

/** A snapshot as JSON arrays of about SNAPSHOT_PART_BYTES each, serialised one part at a time. */
function* snapshotParts(snapshot: readonly StateChange[]): Generator<string> {
  let parts: string[] = [];
  let bytes = 0;
  for (const change of snapshot) {
    const text = JSON.stringify(change);
    if (parts.length > 0 && bytes + text.length > SNAPSHOT_PART_BYTES) {
      yield `[${parts.join(",")}]`;
      parts = [];
      bytes = 0;
    }
    parts.push(text);
    bytes += text.length + 1;
  }
  if (parts.length > 0) yield `[${parts.join(",")}]`;
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
    const next = this.#after(async () => {
      const batch = this.#queued;
      this.#queued = [];
      this.#next = undefined;
      if (batch.length > 0) await this.journal.append(batch);
    });
    this.#next = next;
    return next;
  }

  /**
   * Compacts the journal to `snapshot()`, taken once every entry recorded until then is written (so
   * no client hears its message was taken before it is durable, and none is in the journal twice).
   * @returns when the snapshot is taken (the state may change again from then on), and when it stands.
   */
  compact(snapshot: () => readonly StateChange[]): { taken: Promise<void>; standing: Promise<void> } {
    let standing: Promise<void> = Promise.resolve();
    const taken =
      this.#failure !== undefined
        ? Promise.reject(this.#failure)
        : this.#after(async () => {
            while (this.#queued.length > 0) {
              const batch = this.#queued;
              this.#queued = [];
              await this.journal.append(batch);
            }
            // Taken in the same turn as the queue was found empty: nothing recorded is left out.
            standing = this.journal.compact(snapshot());
          });
    return { taken, standing: taken.then(() => standing) };
  }

  /** Runs `write` after the last write begun or scheduled; its failure fails this wait and every later one. */
  #after(write: () => Promise<void>): Promise<void> {
    const next = this.#writing.then(async () => {
      try {
        await write();
      } catch (error) {
        this.#failure = error instanceof Error ? error : new Error(String(error));
        throw this.#failure;
      }
    });
    this.#writing = next;
    return next;
  }
}
