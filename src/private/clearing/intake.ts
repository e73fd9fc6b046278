/**
 * The households' sealed slot intents a node holds for open slots until the broker clears them
 * (intents.ts), and the slots already cleared, so that none is cleared twice.
 * @module
 */
import type { Shared } from "../../mpc/arithmetic.ts";
import { type ChangeRecorder, type StateChange, sharesFromText, sharesToText } from "../changes.ts";

/** Open slots one household may hold intents for at once: a flood of junk slots stays its own. */
export const MAX_OPEN_SLOTS_PER_HOUSEHOLD = 8;

/** Slots closed, remembered so that none is cleared twice (a week of 15-minute slots). */
const CLOSED_SLOTS_KEPT = 7 * 96;

/**
 * An intent a node holds: its shares, the signature that sealed it, and where its household waits
 * (nowhere, when the node restored the intent from its store after a restart: the household asks).
 */
export interface HeldIntent<Reply> {
  readonly shares: Shared;
  readonly signature: string;
  readonly household: Reply | undefined;
}

/** The journal's record of a held intent. */
interface IntentChange {
  slot: string;
  household: string;
  signature: string;
  words: number;
  shares: string;
}

/** The intents a node holds per open slot, and the slots already cleared. */
export class IntentIntake<Reply> {
  readonly #slots = new Map<string, Map<string, HeldIntent<Reply>>>();
  readonly #openOf = new Map<string, number>();
  readonly #closed = new Set<string>();

  /** @param recorder told of every change, to make it durable */
  constructor(private readonly recorder?: ChangeRecorder) {}

  /** Holds an intent for its slot, or says why not. */
  add(slot: string, householdId: string, held: HeldIntent<Reply>): string | undefined {
    const problem = this.#add(slot, householdId, held);
    if (problem === undefined) this.recorder?.intake(intentChange(slot, householdId, held));
    return problem;
  }

  #add(slot: string, householdId: string, held: HeldIntent<Reply>): string | undefined {
    if (this.#closed.has(slot)) return `slot ${slot} is already cleared: its gate has closed`;
    let intents = this.#slots.get(slot);
    if (intents?.has(householdId))
      return `an intent of ${householdId} for slot ${slot} is already held (a replay)`;
    const open = this.#openOf.get(householdId) ?? 0;
    if (open >= MAX_OPEN_SLOTS_PER_HOUSEHOLD)
      return `${householdId} holds intents for ${open} open slots already, the most one household may`;
    if (intents === undefined) {
      intents = new Map();
      this.#slots.set(slot, intents);
    }
    intents.set(householdId, held);
    this.#openOf.set(householdId, open + 1);
    return undefined;
  }

  /** What this node holds for a slot, as the nodes compare it: household and signature. */
  keys(slot: string): string[] {
    return [...(this.#slots.get(slot) ?? new Map<string, HeldIntent<Reply>>())].map(([id, held]) =>
      intentKey(id, held.signature),
    );
  }

  isClosed(slot: string): boolean {
    return this.#closed.has(slot);
  }

  /** Closes a slot: its intents, for clearing; no intent for it is taken afterwards. */
  close(slot: string): Map<string, HeldIntent<Reply>> {
    this.recorder?.job({ kind: "slot-cleared", data: { slot } });
    return this.#close(slot);
  }

  /** Replays a change from the store; @returns false for a change of another part of the state. */
  restore(change: StateChange): boolean {
    if (change.kind === "slot-cleared") {
      this.#close((change.data as { slot: string }).slot);
      return true;
    }
    if (change.kind !== "intent") return false;
    const { slot, household, signature, words, shares } = change.data as IntentChange;
    this.#add(slot, household, {
      signature,
      shares: sharesFromText(shares, words, `the stored intent of ${household}`),
      household: undefined,
    });
    return true;
  }

  /** Changes that, restored in order, give what it holds now: the slots cleared, then the intents held. */
  snapshot(): StateChange[] {
    return [
      ...[...this.#closed].map((slot) => ({ kind: "slot-cleared", data: { slot } })),
      ...[...this.#slots].flatMap(([slot, intents]) =>
        [...intents].map(([household, held]) => intentChange(slot, household, held)),
      ),
    ];
  }

  /** Where the households of this node's intents wait: handed on when the state is rebuilt from the store. */
  handOver(next: IntentIntake<Reply>): void {
    for (const [slot, intents] of next.#slots) {
      const mine = this.#slots.get(slot);
      for (const [id, held] of intents) {
        const household = mine?.get(id)?.household;
        if (held.household === undefined && household !== undefined) intents.set(id, { ...held, household });
      }
    }
  }

  #close(slot: string): Map<string, HeldIntent<Reply>> {
    const intents = this.#slots.get(slot) ?? new Map<string, HeldIntent<Reply>>();
    this.#slots.delete(slot);
    for (const id of intents.keys()) this.#openOf.set(id, (this.#openOf.get(id) ?? 1) - 1);
    this.#closed.add(slot);
    for (const old of this.#closed) {
      if (this.#closed.size <= CLOSED_SLOTS_KEPT) break;
      this.#closed.delete(old);
    }
    return intents;
  }
}

function intentChange<Reply>(slot: string, household: string, held: HeldIntent<Reply>): StateChange {
  const change: IntentChange = {
    slot,
    household,
    signature: held.signature,
    words: held.shares.own.length,
    shares: sharesToText(held.shares),
  };
  return { kind: "intent", data: change };
}

export function intentKey(household: string, signature: string): string {
  return `${household} ${signature}`;
}
