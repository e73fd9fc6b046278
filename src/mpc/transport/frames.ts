/**
 * What every transport shares: the wire framing of socket transports (a 4-byte big-endian length,
 * then the payload), a reader that cuts a byte stream into frames copying each payload at most once,
 * and the per-peer inbox that hands frames to `receive` and turns failures into a {@link PeerError}.
 * @module
 */
import { PARTIES, type PartyId, PeerError } from "./types.ts";

/** Bytes of the length header in front of every frame. */
export const FRAME_HEADER_BYTES = 4;

/**
 * The largest payload a frame may carry. A bigger length in a header is a protocol error: it bounds
 * what a broken or hostile peer can make this node allocate.
 */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** A length header of `payloadBytes` (4 bytes, big-endian). @throws RangeError above {@link MAX_FRAME_BYTES}. */
export function encodeFrameHeader(payloadBytes: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, payloadBytes);
  return header;
}

/** Writes a length header into `target` at `offset`, so a sender can build header and payload in one buffer. */
export function writeFrameHeader(target: Uint8Array, offset: number, payloadBytes: number): void {
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > MAX_FRAME_BYTES) {
    throw new RangeError(`a frame of ${payloadBytes} bytes is outside 0..${MAX_FRAME_BYTES}`);
  }
  target[offset] = payloadBytes >>> 24;
  target[offset + 1] = (payloadBytes >>> 16) & 0xff;
  target[offset + 2] = (payloadBytes >>> 8) & 0xff;
  target[offset + 3] = payloadBytes & 0xff;
}

/**
 * The parts end to end in a new buffer, after `headerBytes` bytes left for a header: the one copy a
 * sent frame gets. Not zero-filled first, as every byte is written.
 */
export function joinParts(parts: readonly ArrayBufferView[], headerBytes: number): Uint8Array {
  let length = headerBytes;
  for (const part of parts) length += part.byteLength;
  const joined = Buffer.allocUnsafe(length);
  let at = headerBytes;
  for (const part of parts) {
    joined.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), at);
    at += part.byteLength;
  }
  return joined;
}

/** A length header announced a frame above the maximum: the stream cannot be trusted any further. */
export class OversizedFrameError extends Error {
  override readonly name = "OversizedFrameError";
  constructor(
    /** The announced payload length. */
    readonly length: number,
    readonly maxFrameBytes: number,
  ) {
    super(`oversized frame: the header announces ${length} bytes, above the maximum of ${maxFrameBytes}`);
  }
}

/**
 * Cuts a byte stream, fed in arbitrary chunks, into frames. It keeps the chunks in a list instead of
 * concatenating them (which would be quadratic for a 16 MB frame arriving in 16 KB TLS records) and
 * copies a payload once, when it is complete. A payload lying inside one chunk comes back as a view
 * of that chunk without any copy, so it may not be aligned for wider typed-array views.
 */
export class FrameReader {
  /** Chunks not yet consumed; `chunks[head]` starts at `offset`. */
  private chunks: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private buffered = 0;
  /** The payload length of the frame being assembled, once its header has been consumed. */
  private pendingLength = -1;

  /** The largest payload the next frame may announce; a reader may change it between frames. */
  maxFrameBytes: number;

  constructor(maxFrameBytes: number = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned in a frame: nonzero at the end of a stream means a truncated frame. */
  get bufferedBytes(): number {
    return this.buffered + (this.pendingLength >= 0 ? FRAME_HEADER_BYTES : 0);
  }

  /** Appends a chunk of the stream. The reader keeps a reference: the caller must not reuse the chunk. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  /**
   * The next complete frame's payload, or undefined until more bytes arrive.
   * @throws {@link OversizedFrameError} when a header announces more than the maximum.
   */
  next(): Uint8Array | undefined {
    if (this.pendingLength < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return undefined;
      const header = this.take(FRAME_HEADER_BYTES);
      const length =
        (((header[0] as number) << 24) |
          ((header[1] as number) << 16) |
          ((header[2] as number) << 8) |
          (header[3] as number)) >>>
        0;
      if (length > this.maxFrameBytes) throw new OversizedFrameError(length, this.maxFrameBytes);
      this.pendingLength = length;
    }
    if (this.buffered < this.pendingLength) return undefined;
    const payload = this.take(this.pendingLength);
    this.pendingLength = -1;
    return payload;
  }

  /** Removes `count` buffered bytes (the caller checked they are there): a view if one chunk holds them, else one copy. */
  private take(count: number): Uint8Array {
    // An empty frame may come when no chunk is left; each gets its own array, as frames are the receiver's.
    if (count === 0) return new Uint8Array(0);
    this.buffered -= count;
    const first = this.chunks[this.head] as Uint8Array;
    const inFirst = first.byteLength - this.offset;
    if (count <= inFirst) {
      const view = new Uint8Array(first.buffer, first.byteOffset + this.offset, count);
      this.offset += count;
      if (this.offset === first.byteLength) this.dropHead();
      return view;
    }
    // Not zero-filled first: every byte is written below.
    const copy = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[this.head] as Uint8Array;
      const available = chunk.byteLength - this.offset;
      const used = Math.min(available, count - filled);
      copy.set(chunk.subarray(this.offset, this.offset + used), filled);
      filled += used;
      this.offset += used;
      if (this.offset === chunk.byteLength) this.dropHead();
    }
    return copy;
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY;
    this.head++;
    this.offset = 0;
    // Compact now and then so the list does not grow with every chunk ever received.
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** A receive waiting for a frame. */
interface Waiter {
  resolve(frame: Uint8Array): void;
  reject(error: PeerError): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Its timeout fired and rejected it; it stays in the queue until skipped. */
  timedOut: boolean;
}

/** A first-in first-out queue with O(1) shift, for frames that arrive before anyone receives them. */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.head === this.items.length ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * The frames from one peer: delivered frames wait here for `receive`, receives wait here for frames.
 * A failure (the peer closed, broke the protocol) lets the frames that arrived before it be received,
 * then rejects every later receive with the same error, so a peer's last words are never lost.
 */
export class PeerInbox {
  private readonly frames = new Queue<Uint8Array>();
  private readonly waiters = new Queue<Waiter>();
  private failure: PeerError | undefined;

  constructor(
    /** The peer the frames come from. */
    readonly peer: PartyId,
    /** How the peer reads in messages: `node 2` or `node 2 (node-c)`. */
    private readonly peerLabel: string,
    /** A receive that waits longer than this rejects. */
    private readonly timeoutMs: number,
  ) {}

  /** The failure that ended this inbox, if any. */
  get failed(): PeerError | undefined {
    return this.failure;
  }

  /** Frames delivered but not yet received. */
  get queuedFrames(): number {
    return this.frames.length;
  }

  /** Hands a frame to the oldest waiting receive, or queues it. Ignored after a failure. */
  deliver(frame: Uint8Array): void {
    if (this.failure !== undefined) return;
    for (;;) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) {
        this.frames.push(frame);
        return;
      }
      // A waiter whose timeout fired is settled already; skip it.
      if (waiter.timedOut) continue;
      clearTimeout(waiter.timer);
      waiter.resolve(frame);
      return;
    }
  }

  /**
   * Ends the inbox with `error` (the first failure wins). Waiting receives reject at once; queued
   * frames stay receivable unless `discardQueued` (this node closed its own transport).
   */
  fail(error: PeerError, discardQueued = false): void {
    const failure = this.failure ?? error;
    this.failure = failure;
    if (discardQueued) this.frames.clear();
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      if (waiter.timedOut) continue;
      clearTimeout(waiter.timer);
      waiter.reject(failure);
    }
  }

  /** The next frame; rejects with the failure, or with a timeout naming the peer. */
  receive(): Promise<Uint8Array> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<Uint8Array>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, timedOut: false };
      // The timer is referenced on purpose: a receive nobody will ever answer must end in this
      // error, not in a silent exit. It exists only while the receive waits.
      waiter.timer = setTimeout(() => {
        waiter.timedOut = true;
        reject(new PeerError(this.peer, `${this.peerLabel} sent nothing for ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/**
 * Holds items back by a fixed delay and emits them in the order they were pushed: the added latency
 * of `TransportOptions.delayMs`. One timer serves the whole line, armed for the oldest item.
 */
export class DelayLine<T> {
  private readonly items = new Queue<{ readonly due: number; readonly item: T }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** True while emitting: an item pushed by `emit` itself must not arm a second timer. */
  private emitting = false;
  private drainedWaiters: (() => void)[] = [];

  constructor(
    private readonly delayMs: number,
    private readonly emit: (item: T) => void,
  ) {}

  /** Items pushed but not yet emitted. */
  get pending(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push({ due: performance.now() + this.delayMs, item });
    if (this.timer === undefined && !this.emitting) this.arm(this.delayMs);
  }

  /** Resolves once every item pushed so far has been emitted (or the line was cancelled). */
  drained(): Promise<void> {
    if (this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  /** Drops the items not yet emitted and stops the timer. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.items.clear();
    this.settleDrained();
  }

  private arm(waitMs: number): void {
    this.timer = setTimeout(() => this.emitDue(), Math.max(0, waitMs));
  }

  private emitDue(): void {
    this.timer = undefined;
    const now = performance.now();
    this.emitting = true;
    try {
      for (;;) {
        const next = this.items.peek();
        if (next === undefined) break;
        // Timers may fire a little early relative to performance.now(); a millisecond of slack
        // avoids re-arming for a fraction of a millisecond.
        if (next.due > now + 1) {
          this.arm(next.due - now);
          return;
        }
        this.items.shift();
        this.emit(next.item);
      }
    } finally {
      this.emitting = false;
    }
    this.settleDrained();
  }

  private settleDrained(): void {
    const waiters = this.drainedWaiters;
    this.drainedWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Throws when `peer` is not one of the other two parties: a bug in the caller, not a peer failure. */
export function checkPeer(self: PartyId, peer: PartyId): void {
  if (peer === self || !PARTIES.includes(peer)) {
    throw new RangeError(
      `node ${self} has no link to ${String(peer)}: the peers are the other two of 0, 1, 2`,
    );
  }
}
