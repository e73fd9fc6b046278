/**
 * A node's intake of meter readings: each envelope is checked at the boundary (shape, registered
 * meter, the slot still open, not seen before, its shares signed by that meter for that slot) and
 * refused alone, with its reason, when it fails — one bad reading never stops the others. When a
 * slot closes, the node holds the shares of the meters that reported in time and knows which did
 * not: late and missing readings are reported by meter id, and billing estimates them by the rule
 * of `estimatedReading`, never as zero.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { parseWith, ValidationError } from "../../validation/index.ts";
import type { Shared } from "../arithmetic.ts";
import type { PartyId } from "../transport/types.ts";
import { type MeterEnvelope, meterEnvelopeSchema, openEnvelope } from "./envelope.ts";

/** A registered meter: its key, and where it belongs (public: the DSO's map, the supplier's portfolio). */
export interface RegisteredMeter {
  readonly publicKey: KeyObject;
  readonly zone: string;
  readonly supplier: string;
}

/** How long after a slot ends its readings are still taken, ms (a meter's retries over a bad link). */
export const READING_GRACE_MS = 5 * 60_000;

/** A closed slot: the readings in, in registry order, and who failed to report. */
export interface ClosedSlot {
  readonly slot: string;
  /** Meters whose reading arrived in time, in registry order. */
  readonly meters: readonly string[];
  /** Their shares: importWh of every meter, then exportWh of every meter. */
  readonly shares: Shared;
  /** Meters that sent nothing valid before the slot closed. */
  readonly missing: readonly string[];
  /** Of those, the ones whose valid reading came after the deadline. */
  readonly late: readonly string[];
}

export class MeterIntake {
  /** Per open slot: accepted shares by meter, and meters whose reading came too late. */
  private readonly open = new Map<
    string,
    { readonly shares: Map<string, Shared>; readonly late: Set<string> }
  >();
  private readonly closed = new Set<string>();

  constructor(
    private readonly node: PartyId,
    private readonly registry: ReadonlyMap<string, RegisteredMeter>,
    private readonly slotMs: number,
  ) {}

  /**
   * Takes one envelope received at `nowMs`. @returns null when accepted, else why it was refused
   * (the meter can retry with a fresh envelope until the deadline).
   */
  accept(raw: unknown, nowMs: number): string | null {
    let envelope: MeterEnvelope;
    try {
      envelope = parseWith(meterEnvelopeSchema, raw) as MeterEnvelope;
    } catch (error) {
      if (error instanceof ValidationError) return error.message;
      throw error;
    }
    const meter = this.registry.get(envelope.meter);
    if (meter === undefined) return `meter ${envelope.meter} is not registered`;
    const startMs = Date.parse(envelope.slot);
    if (nowMs < startMs + this.slotMs) return `slot ${envelope.slot} is not over yet`;
    if (this.closed.has(envelope.slot)) return `slot ${envelope.slot} is closed`;
    const state = this.slotState(envelope.slot);
    // A slot's first valid reading of a meter stands: a replay, or a second reading, is refused.
    if (state.shares.has(envelope.meter))
      return `meter ${envelope.meter} already reported slot ${envelope.slot}`;
    const opened = openEnvelope(envelope, this.node, meter.publicKey);
    if ("refused" in opened) return opened.refused;
    if (nowMs > startMs + this.slotMs + READING_GRACE_MS) {
      state.late.add(envelope.meter);
      return `the reading came after the deadline of slot ${envelope.slot}`;
    }
    state.shares.set(envelope.meter, opened.shares);
    return null;
  }

  /** Closes a slot: no reading is taken for it afterwards. */
  close(slot: string): ClosedSlot {
    const state = this.slotState(slot);
    this.closed.add(slot);
    const meters: string[] = [];
    const missing: string[] = [];
    for (const id of this.registry.keys()) (state.shares.has(id) ? meters : missing).push(id);
    const column = (part: "own" | "next", k: number) =>
      BigUint64Array.from(meters, (id) => (state.shares.get(id) as Shared)[part][k] as bigint);
    const shares: Shared = {
      own: BigUint64Array.from([...column("own", 0), ...column("own", 1)]),
      next: BigUint64Array.from([...column("next", 0), ...column("next", 1)]),
    };
    const late = missing.filter((id) => state.late.has(id));
    this.open.delete(slot);
    return { slot, meters, shares, missing, late };
  }

  private slotState(slot: string) {
    let state = this.open.get(slot);
    if (state === undefined) {
      state = { shares: new Map(), late: new Set() };
      this.open.set(slot, state);
    }
    return state;
  }
}
