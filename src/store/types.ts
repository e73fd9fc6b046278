/**
 * The storage port of a simulation run: one interface, an embedded PGlite implementation and a
 * PostgreSQL one, and one contract test suite for both.
 * @module
 */
import type { Statement } from "../billing/index.ts";
import type { SlotRecord } from "../billing/record.ts";

/** What identifies a run and must match when it is resumed. */
export interface RunDescription {
  /** Stable id of the run, e.g. derived from scenario, seed and days. */
  readonly id: string;
  readonly scenario: string;
  readonly seed: number;
  /** The full configuration the run was started with (scenario content, days, engine…), as JSON. */
  readonly config: unknown;
  /** The households, in the order every SlotRecord lists them. */
  readonly householdIds: readonly string[];
}

/** Persists a run slot by slot, so that a killed run resumes from its last completed slot. */
export interface RunStore {
  /**
   * Opens the run, creating it when new. Returns how many slots are already stored (0 for a new run).
   * @throws when a run with this id exists with a different description.
   */
  openRun(run: RunDescription): Promise<number>;
  /**
   * Stores consecutive slots atomically: all of them or none. The first must follow the last stored
   * slot exactly (no gap, no slot twice).
   */
  appendSlots(runId: string, records: readonly SlotRecord[]): Promise<void>;
  /** Reads stored slots `[from, to)` back, in order, exactly as they were appended. */
  readSlots(runId: string, from: number, to: number): Promise<SlotRecord[]>;
  /** Stores the statements of one billing period (e.g. "2026-06"), replacing any stored for it. */
  saveStatements(runId: string, period: string, statements: readonly Statement[]): Promise<void>;
  /** Reads the statements of one billing period back. */
  readStatements(runId: string, period: string): Promise<Statement[]>;
  close(): Promise<void>;
}
