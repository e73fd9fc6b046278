/**
 * The commitments a node keeps after clearing slots, as shares: each counted household's outputs of a
 * slot and the slot's public figures, for a while, so that a household whose connection dropped
 * before the clearing fetches them (`slot-commitments`) instead of losing them.
 * @module
 */
import { concat, type Shared } from "../../mpc/arithmetic.ts";
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

/** The journal's record of a slot's commitments kept. */
interface CommitmentsChange {
  slot: string;
  figures: SlotFigures;
  /** The households in the order of their words, and how many words each has. */
  households: string[];
  words: number[];
  refused: string[];
  shares: string;
}

/** A slot's commitments on this node: every household's words in one flat Shared, the figures once. */
interface SlotCommitments {
  readonly figures: SlotFigures;
  readonly rowOf: ReadonlyMap<string, number>;
  /** Where row r's words start (r + 1: where they end). */
  readonly starts: Uint32Array;
  readonly words: Shared;
  readonly refused: ReadonlySet<string>;
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
    if (change.kind !== "commitments") return false;
    const { slot, figures, households, words, refused, shares } = change.data as CommitmentsChange;
    let total = 0;
    for (const count of words) total += count;
    this.keepSlot(
      slot,
      figures,
      households,
      words,
      refused,
      sharesFromText(shares, total, `the stored commitments of ${slot}`),
    );
    return true;
  }

  /** The changes that rebuild this state in a fresh instance: one per kept slot, oldest first. */
  snapshot(): StateChange[] {
    return [...this.slots].map(([slot, kept]) => ({ kind: "commitments", data: changeOf(slot, kept) }));
  }

  /**
   * Keeps a slot's commitments: each counted household's output words (in the order it reads them),
   * the slot's public figures, and which of the households' intents were refused.
   */
  keep(
    slot: string,
    figures: SlotFigures,
    outputs: ReadonlyMap<string, Shared>,
    refused: readonly string[],
  ): void {
    const households = [...outputs.keys()];
    const counts = [...outputs.values()].map((shares) => shares.own.length);
    const words = concat([...outputs.values()]);
    const change: CommitmentsChange = {
      slot,
      figures,
      households,
      words: counts,
      refused: [...refused],
      shares: sharesToText(words),
    };
    this.recorder?.job({ kind: "commitments", data: change });
    this.keepSlot(slot, figures, households, counts, refused, words);
  }

  private keepSlot(
    slot: string,
    figures: SlotFigures,
    households: readonly string[],
    counts: readonly number[],
    refused: readonly string[],
    words: Shared,
  ): void {
    const starts = new Uint32Array(households.length + 1);
    counts.forEach((count, row) => {
      starts[row + 1] = (starts[row] as number) + count;
    });
    this.slots.set(slot, {
      figures,
      rowOf: new Map(households.map((household, row) => [household, row])),
      starts,
      words,
      refused: new Set(refused),
    });
    for (const old of this.slots.keys()) {
      if (this.slots.size <= this.keepSlots) break;
      this.slots.delete(old);
    }
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
      public: { ...kept.figures, refused: kept.refused.has(household) },
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
  };
}
