/**
 * The changes of a node's state as its store keeps them, and the recorder its state tells them to:
 * what a client's message changed is written at once, what a job changed when the nodes commit it.
 * @module
 */
import type { Shared } from "../mpc/arithmetic.ts";
import { decodeShares, encodeShares } from "../mpc/encoding.ts";

/** One change of a node's state, as its journal keeps it: a kind, and JSON data (shares in base64). */
export interface StateChange {
  readonly kind: string;
  readonly data: unknown;
}

/**
 * Where a node's state reports its changes, to make them durable: a change a client's message made
 * (an intent held, a reading taken) is written before the client hears it was taken; a change the
 * running job made (a slot cleared, bills kept) is written when the three nodes commit the job, and
 * undone if they do not.
 */
export interface ChangeRecorder {
  intake(change: StateChange): void;
  job(change: StateChange): void;
}

/** Shares as journal data. */
export function sharesToText(shares: Shared): string {
  return Buffer.from(encodeShares(shares)).toString("base64");
}

/** Journal data as shares of `words` values. */
export function sharesFromText(text: string, words: number, what: string): Shared {
  return decodeShares(new Uint8Array(Buffer.from(text, "base64")), words, what);
}
