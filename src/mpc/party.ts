/**
 * One computing node's protocol runtime: its place in the ring, its PRSS keys, and rounds of one frame
 * per peer, counted with their bytes.
 * @module
 */
import { nextParty, Prss, prevParty } from "./prss.ts";
import { type PartyId, PeerError, type Transport } from "./transport/types.ts";

/** Rounds and payload bytes this party has run and sent. */
export interface ProtocolCounters {
  rounds: number;
  bytesSent: number;
}

/** What one round sends to each neighbour: several parts become one frame. */
export interface RoundOutput {
  prev?: readonly ArrayBufferView[];
  next?: readonly ArrayBufferView[];
}

/** How many bytes this party expects from each neighbour in one round. */
export interface RoundInput {
  prev?: number;
  next?: number;
}

/** Frames received in one round, already checked for length. */
export interface RoundFrames {
  prev: Uint8Array;
  next: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Traffic that rides along in the next round with whatever that round carries: lets a protocol with
 * no data dependency on the current one (say, preparing random bits) use its rounds instead of adding
 * its own. Its parts go first in each frame.
 */
export interface Rider {
  output: RoundOutput;
  input: RoundInput;
  /** Called with this rider's slice of the received frames. */
  arrived(frames: RoundFrames): void;
}

/**
 * A node's side of the three-party protocols. Every protocol is a fixed sequence of rounds that all
 * three parties run in step; in each round a party sends at most one frame to each neighbour and
 * receives the frames its neighbours send it.
 */
export class Party {
  readonly prev: PartyId;
  readonly next: PartyId;
  readonly counters: ProtocolCounters = { rounds: 0, bytesSent: 0 };
  /**
   * Every value this party learned in the clear as a protocol's result, in order, while
   * `recordDisclosures` is on: what leakage tests compare with what the spec allows. (Masked openings
   * inside protocols are uniformly random and not recorded.)
   */
  readonly disclosed: BigUint64Array[] = [];
  recordDisclosures = false;
  #riders: Rider[] = [];

  private constructor(
    readonly id: PartyId,
    readonly transport: Transport,
    readonly prss: Prss,
  ) {
    this.prev = prevParty(id);
    this.next = nextParty(id);
  }

  /** Agrees the PRSS keys over the authenticated transport: each party sends its own key to its predecessor. */
  static async connect(transport: Transport): Promise<Party> {
    const own = Prss.freshKey();
    transport.send(prevParty(transport.party), own);
    const nextKey = await transport.receive(nextParty(transport.party));
    if (nextKey.length !== own.length) {
      throw new PeerError(
        nextParty(transport.party),
        `node ${nextParty(transport.party)} sent a malformed PRSS key`,
      );
    }
    return new Party(transport.party, transport, new Prss(transport.party, own, nextKey));
  }

  /** Notes values this party learned as a protocol's result (when recording). */
  disclose(values: BigUint64Array): void {
    if (this.recordDisclosures) this.disclosed.push(values.slice());
  }

  /** Adds traffic to the next round. */
  ride(rider: Rider): void {
    this.#riders.push(rider);
  }

  /** Runs a round with no traffic of its own if riders are waiting, so they arrive. */
  async flush(): Promise<void> {
    while (this.#riders.length > 0) await this.round({}, {});
  }

  /** One round: sends the frames, then waits for exactly the expected bytes from each neighbour. */
  async round(output: RoundOutput, input: RoundInput): Promise<RoundFrames> {
    this.counters.rounds += 1;
    const riders = this.#riders;
    this.#riders = [];
    const sides = ["prev", "next"] as const;
    const frames = await Promise.all(
      sides.map((side) => {
        const parts = [...riders.flatMap((r) => r.output[side] ?? []), ...(output[side] ?? [])];
        const peer = side === "prev" ? this.prev : this.next;
        if (parts.length > 0) this.#send(peer, parts);
        const expected = riders.reduce((sum, r) => sum + (r.input[side] ?? 0), 0) + (input[side] ?? 0);
        const due =
          expected > 0 || input[side] !== undefined || riders.some((r) => r.input[side] !== undefined);
        return due ? this.#receive(peer, expected) : Promise.resolve(EMPTY);
      }),
    );
    const at = { prev: 0, next: 0 };
    const take = (side: "prev" | "next", bytes: number | undefined): Uint8Array => {
      const frame = side === "prev" ? frames[0] : frames[1];
      const start = at[side];
      at[side] += bytes ?? 0;
      return (frame as Uint8Array).subarray(start, at[side]);
    };
    for (const rider of riders) {
      rider.arrived({ prev: take("prev", rider.input.prev), next: take("next", rider.input.next) });
    }
    return { prev: take("prev", input.prev), next: take("next", input.next) };
  }

  #send(to: PartyId, parts: readonly ArrayBufferView[]): void {
    for (const part of parts) this.counters.bytesSent += part.byteLength;
    this.transport.send(to, ...parts);
  }

  async #receive(from: PartyId, bytes: number): Promise<Uint8Array> {
    const frame = await this.transport.receive(from);
    if (frame.length !== bytes) {
      throw new PeerError(
        from,
        `node ${from} sent a malformed frame: ${frame.length} bytes where ${bytes} were due`,
      );
    }
    return frame;
  }
}

/**
 * A received frame's words: a view when the frame's bytes are 8-aligned (frames are the receiver's
 * own, nothing else writes to them), else a copy.
 */
export function wordsOf(
  frame: Uint8Array,
  offsetBytes = 0,
  words = (frame.length - offsetBytes) / 8,
): BigUint64Array {
  const start = frame.byteOffset + offsetBytes;
  if (start % 8 === 0) return new BigUint64Array(frame.buffer, start, words);
  const copy = new BigUint64Array(words);
  new Uint8Array(copy.buffer).set(frame.subarray(offsetBytes, offsetBytes + words * 8));
  return copy;
}
