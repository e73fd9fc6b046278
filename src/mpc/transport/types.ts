/**
 * The transport port between the three computing nodes: ordered, authenticated frames per peer, and
 * failures that name the peer.
 * @module
 */

/** Index of one of the three computing nodes. */
export type PartyId = 0 | 1 | 2;

/** The three party indices, in order. */
export const PARTIES: readonly PartyId[] = [0, 1, 2];

/** A peer died, stalled, closed its connection or sent a frame that breaks the protocol. */
export class PeerError extends Error {
  constructor(
    /** The party at fault. */
    readonly peer: PartyId,
    message: string,
  ) {
    super(message);
    this.name = "PeerError";
  }
}

/** What a transport has carried so far, from this party's side. */
export interface TransportStats {
  framesSent: number;
  /** Payload bytes sent, without framing or TLS overhead. */
  bytesSent: number;
}

/**
 * One party's end of the links to the other two. Frames to one peer arrive in the order they were
 * sent. Every failure surfaces as a rejected `receive` with a {@link PeerError} naming the peer:
 * a closed or broken connection, a malformed or oversized frame, or no frame within the timeout.
 */
export interface Transport {
  readonly party: PartyId;
  /**
   * Queues one frame for a peer: the parts end to end. Never blocks. The bytes are copied before it
   * returns (once, with the framing), so the caller may change its buffers at once.
   */
  send(to: PartyId, ...parts: readonly ArrayBufferView[]): void;
  /** The next frame from a peer. */
  receive(from: PartyId): Promise<Uint8Array>;
  readonly stats: TransportStats;
  /** Closes the links; pending and later receives reject. */
  close(): Promise<void>;
}

/** Options every transport takes. */
export interface TransportOptions {
  /** A receive that waits longer than this rejects, naming the silent peer. */
  timeoutMs: number;
  /** Added latency per frame, to show what rounds cost on a real network (0 = none). */
  delayMs?: number;
  /**
   * Told when a link to a peer ends after setup, at once, whether or not anything waits on it: an
   * idle party learns of a lost peer without a receive to fail.
   */
  onLinkLost?: (error: PeerError) => void;
}
