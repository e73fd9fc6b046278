/**
 * The households' sealed slot intents a node holds for open slots until the broker clears them
 * (intents.ts), and the slots already cleared, so that none is cleared twice.
 * @module
 */
import type { Shared } from "../../mpc/arithmetic.ts";

/** Open slots one household may hold intents for at once: a flood of junk slots stays its own. */
export const MAX_OPEN_SLOTS_PER_HOUSEHOLD = 8;

/** Slots closed, remembered so that none is cleared twice (a week of 15-minute slots). */
const CLOSED_SLOTS_KEPT = 7 * 96;

/** An intent a node holds: its shares, the signature that sealed it, and where its household waits. */
export interface HeldIntent<Reply> {
  readonly shares: Shared;
  readonly signature: string;
  readonly household: Reply;
}

/** The intents a node holds per open slot, and the slots already cleared. */
export class IntentIntake<Reply> {
  readonly #slots = new Map<string, Map<string, HeldIntent<Reply>>>();
  readonly #openOf = new Map<string, number>();
  readonly #closed = new Set<string>();

  /** Holds an intent for its slot, or says why not. */
  add(slot: string, householdId: string, held: HeldIntent<Reply>): string | undefined {
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

export function intentKey(household: string, signature: string): string {
  return `${household} ${signature}`;
}
