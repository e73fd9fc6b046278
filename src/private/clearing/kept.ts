/**
 * The commitments a node keeps after clearing slots, as shares: each counted household's outputs of a
 * slot and the slot's public figures, for a while, so that a household whose connection dropped
 * before the clearing fetches them (`slot-commitments`) instead of losing them; each counted
 * household's billing columns (COMMITMENT_COLUMNS), which the nodes bill the slot from
 * (`bill-slot`); and what the broker learned, which a repeated `clear-slot` answers again.
 * @module
 */
import { concat, type Shared } from "../../mpc/arithmetic.ts";
import { COMMITMENT_COLUMNS } from "../billing/layout.ts";
import { type ChangeRecorder, type StateChange, sharesFromText, sharesToText } from "../changes.ts";
import type { SlotPublic } from "./whole-slot.ts";

/** A slot's public figures, as the broker and every household of the slot learn them. */
export interface SlotFigures {
  readonly slot: string;
  readonly prices: { readonly feedIn: number; readonly retail: number };
  readonly clearingPrice: number | null;
  readonly volumeWh: number;
  readonly zones?: SlotPublic["zones"];
}

/** What each household gets besides its shares: the slot's public figures and whether its intent was refused. */
export interface SlotCommitmentsPublic extends SlotFigures {
  readonly refused: boolean;
}

/** A household's kept commitments of a slot: its output words as shares, and what it learns in public. */
export interface KeptSlotCommitments {
  readonly shares: Shared;
  readonly public: SlotCommitmentsPublic;
}

/** A slot's clearing as the nodes keep it, besides the households' output words. */
export interface SlotClearing {
  readonly figures: SlotFigures;
  /** The counted households whose intent was refused, and those whose intent did not reach all three nodes alike. */
  readonly refused: readonly string[];
  readonly leftOut: readonly string[];
  /**
   * Each counted household's row of COMMITMENT_COLUMNS words, in the order of `rowOf`; absent for a
   * slot cleared before the nodes kept them.
   */
  readonly columns?: Shared;
}

/** A slot's clearing as {@link KeptCommitments.clearingOf} gives it: with the counted households, in the order of the columns' rows. */
export type KeptClearing = SlotClearing & { readonly counted: readonly string[] };

/** The journal's record of a slot's commitments kept. */
interface CommitmentsChange {
  slot: string;
  figures: SlotFigures;
  /** The households in the order of their words, and how many words each has. */
  households: string[];
  words: number[];
  refused: string[];
  shares: string;
  /** Absent in stores written before these were kept. */
  leftOut?: string[];
  columns?: string;
}

/** A slot's commitments on this node: every household's words in one flat Shared, the figures once. */
interface SlotCommitments extends SlotClearing {
  readonly rowOf: ReadonlyMap<string, number>;
  /** Where row r's words start (r + 1: where they end). */
  readonly starts: Uint32Array;
  readonly words: Shared;
}

export class KeptCommitments {
  private readonly slots = new Map<string, SlotCommitments>();

  /**
   * @param recorder told of every change, to make it durable
   * @param keepSlots slots whose commitments stay for their households to fetch (oldest dropped first): two days of 15-minute slots by default.
   */
  constructor(
    private readonly recorder?: ChangeRecorder,
    private readonly keepSlots = 2 * 96,
  ) {}

  /** Replays a change from the store; @returns false for a change of another part of the state. */
  restore(change: StateChange): boolean {
    if (change.kind === "columns-dropped") {
      this.dropSlotColumns((change.data as { slot: string }).slot);
      return true;
    }
    if (change.kind !== "commitments") return false;
    const { slot, figures, households, words, refused, shares, leftOut, columns } =
      change.data as CommitmentsChange;
    let total = 0;
    for (const count of words) total += count;
    const what = `the stored commitments of ${slot}`;
    this.keepSlot(slot, households, words, sharesFromText(shares, total, what), {
      figures,
      refused,
      leftOut: leftOut ?? [],
      ...(columns === undefined
        ? {}
        : { columns: sharesFromText(columns, households.length * COMMITMENT_COLUMNS.length, what) }),
    });
    return true;
  }

  /** The changes that rebuild this state in a fresh instance: one per kept slot, oldest first. */
  snapshot(): StateChange[] {
    return [...this.slots].map(([slot, kept]) => ({ kind: "commitments", data: changeOf(slot, kept) }));
  }

  /**
   * Keeps a slot's commitments: each counted household's output words (in the order it reads them),
   * and the clearing's figures, refusals and left-out households, with each counted household's
   * billing columns (a row per household, in the order of `outputs`).
   */
  keep(slot: string, outputs: ReadonlyMap<string, Shared>, clearing: Required<SlotClearing>): void {
    const households = [...outputs.keys()];
    const counts = [...outputs.values()].map((shares) => shares.own.length);
    const words = concat([...outputs.values()]);
    const change: CommitmentsChange = {
      slot,
      figures: clearing.figures,
      households,
      words: counts,
      refused: [...clearing.refused],
      shares: sharesToText(words),
      leftOut: [...clearing.leftOut],
      columns: sharesToText(clearing.columns),
    };
    this.recorder?.job({ kind: "commitments", data: change });
    this.keepSlot(slot, households, counts, words, clearing);
  }

  private keepSlot(
    slot: string,
    households: readonly string[],
    counts: readonly number[],
    words: Shared,
    clearing: SlotClearing,
  ): void {
    const starts = new Uint32Array(households.length + 1);
    counts.forEach((count, row) => {
      starts[row + 1] = (starts[row] as number) + count;
    });
    this.slots.set(slot, {
      ...clearing,
      rowOf: new Map(households.map((household, row) => [household, row])),
      starts,
      words,
    });
    for (const old of this.slots.keys()) {
      if (this.slots.size <= this.keepSlots) break;
      this.slots.delete(old);
    }
  }

  /**
   * Drops a slot's billing columns once it is billed: its lines hold what the ledger needs of them,
   * and a node keeping every household's columns for two days would hold 9 words more per household
   * and slot than it has to.
   */
  dropColumns(slot: string): void {
    if (this.slots.get(slot)?.columns === undefined) return;
    this.recorder?.job({ kind: "columns-dropped", data: { slot } });
    this.dropSlotColumns(slot);
  }

  private dropSlotColumns(slot: string): void {
    const kept = this.slots.get(slot);
    if (kept === undefined) return;
    const { columns: _, ...rest } = kept;
    this.slots.set(slot, rest);
  }

  /** Whether a slot's commitments are still kept. */
  isKept(slot: string): boolean {
    return this.slots.has(slot);
  }

  /** A household's commitments of a slot, while kept; undefined when its intent did not count. */
  of(slot: string, household: string): KeptSlotCommitments | undefined {
    const kept = this.slots.get(slot);
    const row = kept?.rowOf.get(household);
    if (kept === undefined || row === undefined) return undefined;
    const start = kept.starts[row] as number;
    const end = kept.starts[row + 1] as number;
    return {
      shares: { own: kept.words.own.subarray(start, end), next: kept.words.next.subarray(start, end) },
      public: { ...kept.figures, refused: kept.refused.includes(household) },
    };
  }

  /** A slot's clearing while kept: its figures, refusals, left-out households and counted households' columns. */
  clearingOf(slot: string): KeptClearing | undefined {
    const kept = this.slots.get(slot);
    if (kept === undefined) return undefined;
    const { figures, refused, leftOut, columns } = kept;
    return {
      figures,
      refused,
      leftOut,
      counted: [...kept.rowOf.keys()],
      ...(columns === undefined ? {} : { columns }),
    };
  }
}

/** A kept slot as the journal records it. */
function changeOf(slot: string, kept: SlotCommitments): CommitmentsChange {
  const households = [...kept.rowOf.keys()];
  return {
    slot,
    figures: kept.figures,
    households,
    words: households.map((_, row) => (kept.starts[row + 1] as number) - (kept.starts[row] as number)),
    refused: [...kept.refused],
    shares: sharesToText(kept.words),
    leftOut: [...kept.leftOut],
    ...(kept.columns === undefined ? {} : { columns: sharesToText(kept.columns) }),
  };
}
