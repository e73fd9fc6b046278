/**
 * What a node service runs: an application (programs, intake handlers, job contexts, and its state's
 * replay from the store), built on the recorder of its changes; and the node's log.
 * @module
 */
import type { ProgramTable } from "../../mpc/programs.ts";
import type { ChangeRecorder, StateChange } from "../../private/changes.ts";
import type { IntakeHandler, JobContext } from "../../private/context.ts";
import type { RegisteredParty } from "../../private/registry.ts";

/** What a node serves: its programs, the handlers of other client messages, and each job's context. */
export interface NodeApplication {
  readonly programs: ProgramTable<JobContext>;
  /** Handlers of client messages that are not job requests (a household's order, a meter's reading), by `type`. */
  readonly intake: Readonly<Record<string, IntakeHandler>>;
  /** What a job is told besides its inputs, given who signed it. */
  context(job: string, requester: RegisteredParty | undefined): JobContext;
  /** Replays a change of its state from the node's store; @returns false for a change it does not know. */
  restore(change: StateChange): boolean;
  /** Changes that, restored in order into a new application, give its state as it is (the journal's compaction). */
  snapshot(): StateChange[];
  /**
   * Hands what lives outside its stored state (where clients wait for answers) to the application
   * rebuilt after it from the store.
   */
  handOver(next: NodeApplication): void;
}

/** Builds a node's application on the recorder of its changes. */
export type ApplicationFactory = (recorder: ChangeRecorder) => NodeApplication;

/** A node's structured log sink (one event per call). */
export type NodeLog = (event: Record<string, unknown>) => void;
