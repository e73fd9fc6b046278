/**
 * A node's intake and store of meter readings. Each sealed reading is checked at the boundary (shape,
 * registered meter, slot still open, not seen before, its shares signed by that meter for that slot)
 * and refused alone, with its reason, when it fails — one bad reading never stops the others. The
 * operator closes a slot's metering a grace period after the slot's end (five minutes, for a meter's
 * retries over a bad link); the three nodes keep the meters all of them hold, less the readings
 * their plausibility check refuses (see plausibility.ts), report the rest as missing (billing
 * estimates missing and refused readings alike by `estimatedReading`, never as zero), and report a
 * genuine reading that comes after the close as late.
 * Closed slots' shares stay for the DSO's, the suppliers' and the households' requests and for
 * billing, up to a retention bound.
 * @module
 */

import type { Shared } from "../../mpc/arithmetic.ts";
import type { PartyId } from "../../mpc/transport/types.ts";
import { parseWith, ValidationError } from "../../validation/index.ts";
import { type ChangeRecorder, type StateChange, sharesFromText, sharesToText } from "../changes.ts";
import type { Registry } from "../registry.ts";
import { type SealedHeader, sealedHeaderSchema } from "../sealed.ts";
import { openReading } from "./envelope.ts";

/** The program name of closing a slot's metering: the operator's, run on the readings the nodes hold. */
export const METER_CLOSE_PROGRAM = "meter-close";

/** What a node's answer to a meter's reading of `slot` is filed under. */
export function readingJob(slot: string): string {
  return `readings ${slot}`;
}

/** Late readings reported with one close at most: a meter replaying old readings cannot grow it further. */
const MAX_LATE_REPORTED = 10_000;

/** Shares of readings, importWh then exportWh columns, one row per meter. */
export interface ReadingColumns {
  /** Position of each meter in the columns. */
  readonly index: ReadonlyMap<string, number>;
  readonly importWh: Shared;
  readonly exportWh: Shared;
}

/** A closed slot's readings on this node: the kept meters' shares, and the readings refused as implausible. */
export interface StoredReadings extends ReadingColumns {
  /** Why each refused meter's reading was refused, by meter. */
  readonly implausible: ReadonlyMap<string, string>;
  /** The late readings its close reported (absent in stores written before they were kept). */
  readonly late: readonly LateReading[];
}

/**
 * Why a node refused a meter's reading. `code` marks the two refusals a meter acts on: `held`, this
 * node holds the meter's reading of the slot already (the first stands: the meter's copy is
 * delivered here); `closed`, the slot's metering is closed (the reading came late, and is reported).
 * Without a code, the meter may try again.
 */
export interface ReadingRefusal {
  readonly reason: string;
  readonly code?: "held" | "closed";
}

/** A genuine reading refused because its slot's metering was closed. */
export interface LateReading {
  readonly meter: string;
  readonly slot: string;
}

/** What closing a slot's metering tells the operator. */
export interface MeteringClosed {
  readonly slot: string;
  /** Readings kept: those all three nodes hold, less the implausible ones. */
  readonly reported: number;
  /** Registered meters whose reading did not reach all three nodes before the close. */
  readonly missing: readonly string[];
  /** Readings all three nodes held but refused as implausible, with the reason; billed as missing. */
  readonly implausible: readonly { readonly meter: string; readonly reason: string }[];
  /** Genuine readings refused since the last close because their slot was already closed. */
  readonly late: readonly LateReading[];
}

export interface MeterIntakeOptions {
  /** Closed slots kept for requests and billing (oldest dropped first); default a week of 15-minute slots. */
  readonly keepSlots?: number;
  /** Slots that may be open at once; a reading for one more is refused. */
  readonly maxOpenSlots?: number;
  /** Told of every change, to make it durable. */
  readonly recorder?: ChangeRecorder;
}

/** The journal's record of a reading taken. */
interface ReadingChange {
  slot: string;
  meter: string;
  shares: string;
}

/** The journal's record of a slot's metering closed. */
interface MeteringClosedChange {
  slot: string;
  agreed: string[];
  implausible: [string, string][];
  /** Absent in stores written before the late readings were kept. */
  late?: LateReading[];
}

/** A snapshot's record of a closed slot's kept readings (the journal's own records rebuild them from the open slot). */
interface MeteringKeptChange {
  slot: string;
  /** The kept meters, in column order. */
  meters: string[];
  importWh: string;
  exportWh: string;
  implausible: [string, string][];
  late?: LateReading[];
}

export class MeterIntake {
  /** Per open slot: accepted shares by meter. */
  private readonly open = new Map<string, Map<string, Shared>>();
  private readonly closed = new Map<string, StoredReadings>();
  private readonly closedSlots = new Set<string>();
  /** Late readings since the last close, by meter and slot: a replayed one counts once. */
  private late = new Map<string, LateReading>();
  private readonly keepSlots: number;
  private readonly maxOpenSlots: number;
  private readonly recorder: ChangeRecorder | undefined;

  constructor(
    private readonly node: PartyId,
    private readonly registry: Registry,
    options: MeterIntakeOptions = {},
  ) {
    this.keepSlots = options.keepSlots ?? 7 * 96;
    this.maxOpenSlots = options.maxOpenSlots ?? 96;
    this.recorder = options.recorder;
  }

  /** Replays a change from the store; @returns false for a change of another part of the state. */
  restore(change: StateChange): boolean {
    if (change.kind === "reading") {
      const { slot, meter, shares } = change.data as ReadingChange;
      this.hold(slot, meter, sharesFromText(shares, 2, `the stored reading of ${meter}`));
      return true;
    }
    if (change.kind === "metering-kept") {
      const { slot, meters, importWh, exportWh, implausible, late } = change.data as MeteringKeptChange;
      const column = (text: string) => sharesFromText(text, meters.length, `the stored readings of ${slot}`);
      this.closedSlots.add(slot);
      this.closed.set(slot, {
        index: new Map(meters.map((meter, k) => [meter, k])),
        importWh: column(importWh),
        exportWh: column(exportWh),
        implausible: new Map(implausible),
        late: late ?? [],
      });
      return true;
    }
    if (change.kind === "slots-closed") {
      for (const slot of (change.data as { slots: string[] }).slots) this.closedSlots.add(slot);
      return true;
    }
    if (change.kind !== "metering-closed") return false;
    const { slot, agreed, implausible, late } = change.data as MeteringClosedChange;
    this.closeSlot(slot, new Set(agreed), new Map(implausible), late ?? []);
    return true;
  }

  /**
   * Changes that, restored in order, give what it holds now: the slots closed whose readings are no
   * longer kept, the kept readings of closed slots, and the open slots' readings.
   */
  snapshot(): StateChange[] {
    const dropped = [...this.closedSlots].filter((slot) => !this.closed.has(slot));
    return [
      ...(dropped.length === 0 ? [] : [{ kind: "slots-closed", data: { slots: dropped } }]),
      ...[...this.closed].map(([slot, kept]) => {
        const change: MeteringKeptChange = {
          slot,
          meters: [...kept.index.keys()],
          importWh: sharesToText(kept.importWh),
          exportWh: sharesToText(kept.exportWh),
          implausible: [...kept.implausible],
          late: [...kept.late],
        };
        return { kind: "metering-kept", data: change };
      }),
      ...[...this.open].flatMap(([slot, readings]) =>
        [...readings].map(([meter, shares]) => readingChange(slot, meter, shares)),
      ),
    ];
  }

  /**
   * Takes one sealed reading (its header names the meter and the slot; its body is this node's
   * shares). @returns null when accepted, else why it was refused.
   */
  accept(rawHeader: unknown, body: Uint8Array): ReadingRefusal | null {
    let sealed: SealedHeader;
    try {
      sealed = parseWith(sealedHeaderSchema, rawHeader) as SealedHeader;
    } catch (error) {
      if (error instanceof ValidationError) return { reason: error.message };
      throw error;
    }
    const meter = this.registry.meters.get(sealed.sender);
    if (meter === undefined) return { reason: `meter ${sealed.sender} is not registered` };
    const shares = this.open.get(sealed.slot);
    // A slot's first valid reading of a meter stands: a replay, or a second reading, is refused.
    if (shares?.has(sealed.sender))
      return { reason: `meter ${sealed.sender} already reported slot ${sealed.slot}`, code: "held" };
    if (shares === undefined && !this.closedSlots.has(sealed.slot) && this.open.size >= this.maxOpenSlots)
      return {
        reason: `slot ${sealed.slot} would be one more than the ${this.maxOpenSlots} slots open at once`,
      };
    const opened = openReading(sealed, body, this.node, meter.publicKey);
    if ("refused" in opened) return { reason: opened.refused };
    if (this.closedSlots.has(sealed.slot)) {
      if (this.late.size < MAX_LATE_REPORTED)
        this.late.set(`${sealed.sender}|${sealed.slot}`, { meter: sealed.sender, slot: sealed.slot });
      return {
        reason: `slot ${sealed.slot} is closed: the reading came late and is reported as such`,
        code: "closed",
      };
    }
    this.hold(sealed.slot, sealed.sender, opened.shares);
    this.recorder?.intake(readingChange(sealed.slot, sealed.sender, opened.shares));
    return null;
  }

  private hold(slot: string, meter: string, reading: Shared): void {
    const shares = this.open.get(slot);
    if (shares === undefined) this.open.set(slot, new Map([[meter, reading]]));
    else shares.set(meter, reading);
  }

  /** The meters whose reading of `slot` this node holds. */
  held(slot: string): string[] {
    return [...(this.open.get(slot)?.keys() ?? [])];
  }

  isClosed(slot: string): boolean {
    return this.closedSlots.has(slot);
  }

  /**
   * The shares of an open slot's readings of the `agreed` meters (those all three nodes hold), in
   * registry order: what closing it would keep, for the plausibility check before the close.
   */
  pending(slot: string, agreed: ReadonlySet<string>): ReadingColumns {
    return this.columns(slot, (id) => agreed.has(id));
  }

  /**
   * Closes a slot, keeping the readings of the `agreed` meters (those all three nodes hold) except
   * the `implausible` ones (meter → reason), which billing estimates as it does missing ones.
   */
  close(
    slot: string,
    agreed: ReadonlySet<string>,
    implausible: ReadonlyMap<string, string> = new Map(),
  ): MeteringClosed {
    const late = [...this.late.values()];
    const change: MeteringClosedChange = { slot, agreed: [...agreed], implausible: [...implausible], late };
    this.recorder?.job({ kind: "metering-closed", data: change });
    this.closeSlot(slot, agreed, implausible, late);
    return this.closedAnswer(slot) as MeteringClosed;
  }

  private closeSlot(
    slot: string,
    agreed: ReadonlySet<string>,
    implausible: ReadonlyMap<string, string>,
    late: readonly LateReading[],
  ): void {
    // The agreed meters are held here too: each node holds what all three hold.
    const kept = this.columns(slot, (id) => agreed.has(id) && !implausible.has(id));
    this.open.delete(slot);
    this.closedSlots.add(slot);
    this.closed.set(slot, { ...kept, implausible, late });
    for (const old of this.closed.keys()) {
      if (this.closed.size <= this.keepSlots) break;
      this.closed.delete(old);
    }
    this.late = new Map();
  }

  /**
   * What closing a slot's metering told the operator, from what this node keeps of it (the readings
   * it kept, those it refused and the late ones it reported), while kept: the answer to a repeat.
   */
  closedAnswer(slot: string): MeteringClosed | undefined {
    const stored = this.closed.get(slot);
    if (stored === undefined) return undefined;
    const missing = [...this.registry.meters.keys()].filter(
      (id) => !stored.index.has(id) && !stored.implausible.has(id),
    );
    return {
      slot,
      reported: stored.index.size,
      missing,
      implausible: [...stored.implausible].map(([meter, reason]) => ({ meter, reason })),
      late: stored.late,
    };
  }

  /** A closed slot's readings, while kept. */
  readings(slot: string): StoredReadings | undefined {
    return this.closed.get(slot);
  }

  /** The open slot's readings this node holds of the meters `keep` selects, in registry order. */
  private columns(slot: string, keep: (meter: string) => boolean): ReadingColumns {
    const shares = this.open.get(slot) ?? new Map<string, Shared>();
    const meters = [...this.registry.meters.keys()].filter((id) => keep(id) && shares.has(id));
    const column = (k: number): Shared => ({
      own: BigUint64Array.from(meters, (id) => (shares.get(id) as Shared).own[k] as bigint),
      next: BigUint64Array.from(meters, (id) => (shares.get(id) as Shared).next[k] as bigint),
    });
    return { index: new Map(meters.map((id, k) => [id, k])), importWh: column(0), exportWh: column(1) };
  }
}

function readingChange(slot: string, meter: string, shares: Shared): StateChange {
  const change: ReadingChange = { slot, meter, shares: sharesToText(shares) };
  return { kind: "reading", data: change };
}
