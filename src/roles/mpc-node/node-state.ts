/**
 * A node's state and its journal: the application's state (intents, readings, bills) and the job
 * ids taken, rebuilt from the journal at start and after a failed job, with every change written
 * before anyone hears of it — a client's message at once (in batches), a job's changes when the
 * three nodes commit it (node 0 decides; nodes 1 and 2 first write them as prepared).
 * @module
 */
import type { ChangeRecorder, StateChange } from "../../private/changes.ts";
import type { Registry } from "../../private/registry.ts";
import { GroupCommit, type NodeJournal } from "./journal.ts";
import type { ApplicationFactory, NodeApplication } from "./node-application.ts";
import { RequestGuard } from "./signed-request.ts";

/** The journal's kinds of the job protocol (the state's own kinds are the application's). */
const JOB_TAKEN = "job-taken";
/** Node 0's record of a committed job, with its changes. */
const COMMITTED_JOB = "job";
/** Nodes 1 and 2: a job's changes, written before telling node 0 they are ready to commit… */
const PREPARED = "prepared";
/** …and node 0's decision, when it comes. */
const COMMITTED = "committed";
const ABORTED = "aborted";
/** Node 0's committed job keys, as a snapshot keeps them. */
const COMMITTED_KEYS = "committed-keys";

/**
 * When the journal is compacted: once what was appended since its last snapshot outgrows the snapshot
 * itself (and a floor), as Redis rewrites its append-only file at 100 % growth. Each byte appended
 * is then rewritten about once, and a replay reads at most about three times the state.
 */
export interface CompactionPolicy {
  readonly minAppendedBytes: number;
  /** Appended bytes per snapshot byte that start a compaction. */
  readonly growth: number;
}

export const DEFAULT_COMPACTION: CompactionPolicy = { minAppendedBytes: 64 << 20, growth: 1 };

/** A job's key and its changes, as the journal keeps them. */
interface JobChanges {
  key: string;
  changes: StateChange[];
}

/** Committed job keys node 0 remembers, to answer nodes that restart in doubt. */
const COMMITTED_KEYS_KEPT = 100_000;

export class NodeState {
  #application!: NodeApplication;
  #guard!: RequestGuard;
  readonly #commits: GroupCommit;
  /** The running job's changes, not yet written. */
  #jobChanges: StateChange[] = [];
  /** Jobs this node prepared and has no decision on (nodes 1 and 2). */
  readonly #inDoubt = new Map<string, StateChange[]>();
  /** Jobs node 0 committed. */
  readonly #committed = new Set<string>();
  /** A compaction whose snapshot does not stand yet. */
  #compacting: Promise<void> | undefined;

  private constructor(
    readonly journal: NodeJournal,
    private readonly factory: ApplicationFactory,
    private readonly registry: Registry | undefined,
    private readonly clock: () => number,
    private readonly compaction: CompactionPolicy,
  ) {
    this.#commits = new GroupCommit(journal);
  }

  /** The state its journal leads to. */
  static async load(
    journal: NodeJournal,
    factory: ApplicationFactory,
    registry: Registry | undefined,
    clock: () => number,
    compaction: CompactionPolicy = DEFAULT_COMPACTION,
  ): Promise<NodeState> {
    const state = new NodeState(journal, factory, registry, clock, compaction);
    await state.rebuild();
    return state;
  }

  get application(): NodeApplication {
    return this.#application;
  }

  get guard(): RequestGuard {
    return this.#guard;
  }

  /** The jobs this node prepared and has heard no decision on. */
  get inDoubt(): string[] {
    return [...this.#inDoubt.keys()];
  }

  /**
   * Throws away what is not written (a failed job's changes) and replays the journal. Where clients
   * wait (held intents' households) passes from the old application to the new.
   */
  async rebuild(): Promise<void> {
    await this.#commits.flushed();
    const previous = this.#application as NodeApplication | undefined;
    const recorder: ChangeRecorder = {
      intake: (change) => this.#commits.record(change),
      job: (change) => this.#jobChanges.push(change),
    };
    this.#application = this.factory(recorder);
    this.#guard = new RequestGuard(this.registry, this.clock, (key, expiresAtMs) =>
      this.#jobChanges.push({ kind: JOB_TAKEN, data: { key, expiresAtMs } }),
    );
    this.#jobChanges = [];
    this.#inDoubt.clear();
    const prepared = new Map<string, StateChange[]>();
    for (const change of await this.journal.entries()) {
      if (change.kind === COMMITTED_JOB) {
        const { key, changes } = change.data as JobChanges;
        for (const part of changes) this.#apply(part);
        this.#remember(key);
      } else if (change.kind === PREPARED) {
        const { key, changes } = change.data as JobChanges;
        prepared.set(key, changes);
      } else if (change.kind === COMMITTED_KEYS) {
        for (const key of (change.data as { keys: string[] }).keys) this.#remember(key);
      } else if (change.kind === COMMITTED || change.kind === ABORTED) {
        const { key } = change.data as { key: string };
        const changes = prepared.get(key);
        prepared.delete(key);
        if (change.kind === COMMITTED) for (const part of changes ?? []) this.#apply(part);
      } else {
        this.#apply(change);
      }
    }
    for (const [key, changes] of prepared) this.#inDoubt.set(key, changes);
    previous?.handOver(this.#application);
  }

  /** Resolves once every change of clients' messages recorded so far is written. */
  intakeWritten(): Promise<void> {
    return this.#commits.flushed();
  }

  /** Starts a job: its changes are collected from here on. */
  beginJob(): void {
    this.#jobChanges = [];
  }

  /** Node 0: writes the running job's changes as committed. */
  async commitAsLeader(key: string): Promise<void> {
    await this.#commits.flushed();
    const changes = this.#takeJobChanges();
    if (changes.length > 0) await this.journal.append([{ kind: COMMITTED_JOB, data: { key, changes } }]);
    this.#remember(key);
  }

  /** Nodes 1 and 2: writes the running job's changes as prepared. @returns whether there were any. */
  async prepare(key: string): Promise<boolean> {
    await this.#commits.flushed();
    const changes = this.#takeJobChanges();
    if (changes.length === 0) return false;
    await this.journal.append([{ kind: PREPARED, data: { key, changes } }]);
    this.#inDoubt.set(key, changes);
    return true;
  }

  /** Nodes 1 and 2: writes node 0's decision on a prepared job (its changes are applied already, if committed). */
  async decided(key: string, committed: boolean, applyNow: boolean): Promise<void> {
    const changes = this.#inDoubt.get(key);
    if (changes === undefined) return;
    await this.journal.append([{ kind: committed ? COMMITTED : ABORTED, data: { key } }]);
    this.#inDoubt.delete(key);
    if (committed && applyNow) for (const change of changes) this.#apply(change);
  }

  /**
   * Starts compacting the journal when its policy says so and none is under way; call it between
   * jobs. Resolves once the snapshot is taken (the next job may change the state).
   * @returns when the snapshot stands (wrapped: an async function's promise would wait for it), or
   * undefined when it did not start one.
   */
  async compactIfDue(): Promise<{ standing: Promise<void> } | undefined> {
    const { snapshotBytes, appendedBytes } = this.journal.size();
    const due =
      this.#compacting === undefined &&
      appendedBytes >= this.compaction.minAppendedBytes &&
      appendedBytes >= this.compaction.growth * snapshotBytes;
    if (!due) return undefined;
    const { taken, standing } = this.#startCompaction();
    await taken;
    return { standing };
  }

  /**
   * Compacts the journal to a snapshot of the state: what it holds, the job ids taken, the jobs node
   * 0 committed and those this node prepared and has no decision on. Call it between jobs.
   * @returns once the snapshot stands.
   */
  async compact(): Promise<void> {
    const { taken, standing } = this.#startCompaction();
    await taken;
    await standing;
  }

  #startCompaction(): { taken: Promise<void>; standing: Promise<void> } {
    const started = this.#commits.compact(() => [
      ...(this.#committed.size === 0 ? [] : [{ kind: COMMITTED_KEYS, data: { keys: [...this.#committed] } }]),
      ...this.#guard
        .takenIds()
        .map(([key, expiresAtMs]) => ({ kind: JOB_TAKEN, data: { key, expiresAtMs } })),
      ...this.#application.snapshot(),
      ...[...this.#inDoubt].map(([key, changes]) => ({ kind: PREPARED, data: { key, changes } })),
    ]);
    const compacting = started.standing.finally(() => {
      if (this.#compacting === compacting) this.#compacting = undefined;
    });
    this.#compacting = compacting;
    // Its failure is the caller's to report; the journal stays as it was.
    compacting.catch(() => undefined);
    return started;
  }

  /** Node 0: whether it committed a job. */
  hasCommitted(key: string): boolean {
    return this.#committed.has(key);
  }

  #takeJobChanges(): StateChange[] {
    const changes = this.#jobChanges;
    this.#jobChanges = [];
    return changes;
  }

  #remember(key: string): void {
    this.#committed.add(key);
    if (this.#committed.size > COMMITTED_KEYS_KEPT) {
      const [oldest] = this.#committed;
      if (oldest !== undefined) this.#committed.delete(oldest);
    }
  }

  #apply(change: StateChange): void {
    if (change.kind === JOB_TAKEN) {
      const { key, expiresAtMs } = change.data as { key: string; expiresAtMs: number };
      this.#guard.restoreTaken(key, expiresAtMs);
      return;
    }
    if (!this.#application.restore(change))
      throw new Error(`the node's store holds a change of unknown kind "${change.kind}"`);
  }
}
