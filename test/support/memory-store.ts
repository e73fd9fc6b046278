/**
 * A RunStore kept in memory, for tests of the slot loop: it holds records as given (structured
 * clones), and can be told to fail an append, as a killed process would leave it.
 * @module
 */
import type { Statement } from "../../src/billing/index.ts";
import type { SlotRecord } from "../../src/billing/record.ts";
import type { RunDescription, RunStore } from "../../src/store/types.ts";

export class MemoryRunStore implements RunStore {
  readonly runs = new Map<
    string,
    { description: RunDescription; slots: SlotRecord[]; statements: Map<string, Statement[]> }
  >();
  /** When set, the append that would store slot index >= this throws and stores nothing. */
  failAtSlot: number | null = null;

  async openRun(run: RunDescription): Promise<number> {
    const existing = this.runs.get(run.id);
    if (existing === undefined) {
      this.runs.set(run.id, { description: structuredClone(run), slots: [], statements: new Map() });
      return 0;
    }
    if (JSON.stringify(existing.description) !== JSON.stringify(run))
      throw new Error(`run ${run.id} differs`);
    return existing.slots.length;
  }

  async appendSlots(runId: string, records: readonly SlotRecord[]): Promise<void> {
    const run = this.runOf(runId);
    const first = records[0]?.index ?? run.slots.length;
    if (first !== run.slots.length)
      throw new Error(`run ${runId}: append at ${first}, ${run.slots.length} stored`);
    const last = first + records.length - 1;
    if (this.failAtSlot !== null && last >= this.failAtSlot) throw new Error("killed");
    run.slots.push(...structuredClone(records as SlotRecord[]));
  }

  async readSlots(runId: string, from: number, to: number): Promise<SlotRecord[]> {
    return structuredClone(this.runOf(runId).slots.slice(from, to));
  }

  async saveStatements(runId: string, period: string, statements: readonly Statement[]): Promise<void> {
    this.runOf(runId).statements.set(period, structuredClone(statements as Statement[]));
  }

  async readStatements(runId: string, period: string): Promise<Statement[]> {
    return structuredClone(this.runOf(runId).statements.get(period) ?? []);
  }

  async close(): Promise<void> {}

  private runOf(runId: string) {
    const run = this.runs.get(runId);
    if (run === undefined) throw new Error(`no run ${runId}`);
    return run;
  }
}
