/**
 * A meter service's buffer: every reading it has taken and not yet settled, in a journal on disk
 * (JSON lines), so that a reading acknowledged to its source survives a crash of the service and is
 * sent after its restart. A reading is settled once all three nodes hold it, or once its slot's
 * metering is closed (it came late). A CSV or synthetic source also records here the last slot it
 * fed, so that a restarted service goes on from the next one. The journal is rewritten with what is
 * still pending once it has grown with settled readings.
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { OperationalError } from "../../system/errors.ts";
import { JsonLinesFile } from "../../system/json-lines.ts";
import { energyField, idField, parseWith, ValidationError } from "../../validation/index.ts";
import type { MeterReading } from "./bus.ts";

/** How a reading left the buffer. */
export type Settlement = "delivered" | "late" | "refused";

const recordSchema = z.union([
  z.strictObject({
    taken: z.strictObject({ meter: idField, slot: z.string(), importWh: energyField, exportWh: energyField }),
  }),
  z.strictObject({ settled: z.strictObject({ meter: idField, slot: z.string() }), as: z.string() }),
  z.strictObject({ fed: z.number().int().nonnegative() }),
]);

/** Settled records the journal may gather before it is rewritten with only what is pending. */
const COMPACT_AFTER_SETTLED = 50_000;

/** What taking a reading did. */
export type Taken =
  /** New: kept, to be sent. */
  | "new"
  /** The same reading was taken before (a source sending it again): nothing to do. */
  | "again"
  /** Another reading of the same meter and slot is pending: the first stands (as on the nodes). */
  | "conflict";

export class MeterBuffer {
  readonly #pending = new Map<string, MeterReading>();
  /** The journal write of each pending reading taken in this run, until it is on disk. */
  readonly #writing = new Map<string, Promise<void>>();
  #fed: number | undefined;
  #settledSinceRewrite = 0;

  private constructor(private readonly journal: JsonLinesFile) {}

  /**
   * Opens the buffer in `folder` (creating it) with what it held when last closed or killed.
   * @throws {@link OperationalError} when the journal is damaged.
   */
  static async open(folder: string): Promise<MeterBuffer> {
    const { file, records } = await JsonLinesFile.open(join(folder, "readings.jsonl"));
    const buffer = new MeterBuffer(file);
    records.forEach((raw, line) => {
      let record: z.infer<typeof recordSchema>;
      try {
        record = parseWith(recordSchema, raw);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        throw new OperationalError(`${file.path} is damaged: line ${line + 1} is no buffer record`);
      }
      if ("taken" in record) buffer.#pending.set(keyOf(record.taken), record.taken);
      else if ("settled" in record) {
        buffer.#pending.delete(keyOf(record.settled));
        buffer.#settledSinceRewrite += 1;
      } else buffer.#fed = record.fed;
    });
    return buffer;
  }

  /** The readings taken and not settled, in the order they were taken. */
  pending(): MeterReading[] {
    return [...this.#pending.values()];
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The last slot a CSV or synthetic source fed, if any. */
  get fed(): number | undefined {
    return this.#fed;
  }

  /**
   * Takes readings: resolves once the new ones are on disk (only then may their source be told they
   * are received), with what became of each.
   */
  async take(readings: readonly MeterReading[]): Promise<Taken[]> {
    const fresh = new Set<MeterReading>();
    for (const reading of readings) {
      const key = keyOf(reading);
      if (this.#pending.has(key)) continue;
      this.#pending.set(key, reading);
      fresh.add(reading);
    }
    const written =
      fresh.size === 0
        ? undefined
        : this.journal.append(
            [...fresh].map((taken) => ({ taken })),
            { durable: true },
          );
    if (written !== undefined) for (const reading of fresh) this.#writing.set(keyOf(reading), written);
    const outcomes = readings.map(async (reading): Promise<Taken> => {
      if (fresh.has(reading)) return "new";
      const key = keyOf(reading);
      // Taken again while its first copy is still being written: answered only once that is on disk.
      await this.#writing.get(key);
      const held = this.#pending.get(key);
      return held === undefined || (held.importWh === reading.importWh && held.exportWh === reading.exportWh)
        ? "again"
        : "conflict";
    });
    const answered = Promise.all(outcomes);
    // Were the write to fail, this throws below; the copies waiting on it must not fail unheard.
    answered.catch(() => undefined);
    if (written !== undefined) {
      try {
        await written;
      } catch (error) {
        for (const reading of fresh) this.#pending.delete(keyOf(reading));
        throw new OperationalError(
          `cannot keep readings in ${this.journal.path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        );
      } finally {
        for (const reading of fresh) this.#writing.delete(keyOf(reading));
      }
    }
    return answered;
  }

  /**
   * Settles a reading. Not forced to disk: a settlement lost in a crash only sends the reading again,
   * which the nodes answer as held (or closed).
   */
  async settle(reading: MeterReading, as: Settlement): Promise<void> {
    if (!this.#pending.delete(keyOf(reading))) return;
    this.#settledSinceRewrite += 1;
    await this.journal.append([{ settled: { meter: reading.meter, slot: reading.slot }, as }], {
      durable: false,
    });
    if (this.#settledSinceRewrite >= COMPACT_AFTER_SETTLED) await this.#rewrite();
  }

  /** Records that a source fed every reading of slot `index` (they are taken before). */
  async markFed(index: number): Promise<void> {
    this.#fed = index;
    await this.journal.append([{ fed: index }], { durable: true });
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  async #rewrite(): Promise<void> {
    this.#settledSinceRewrite = 0;
    await this.journal.rewrite([
      ...(this.#fed === undefined ? [] : [{ fed: this.#fed }]),
      ...[...this.#pending.values()].map((taken) => ({ taken })),
    ]);
  }
}

function keyOf(reading: { readonly meter: string; readonly slot: string }): string {
  return `${reading.meter}|${reading.slot}`;
}
