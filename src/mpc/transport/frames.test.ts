/**
 * Framing: random streams cut at random places come back as the frames that were sent; an oversized
 * length is refused; a stream cut mid-frame leaves bytes the transport reports as a truncated frame.
 * @module
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../../test/support/property.ts";
import {
  DelayLine,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  FrameReader,
  MAX_FRAME_BYTES,
  OversizedFrameError,
  PeerInbox,
} from "./frames.ts";
import { PeerError } from "./types.ts";

/** The stream that carries `payloads`, as one buffer. */
function stream(payloads: readonly Uint8Array[]): Uint8Array {
  const parts = payloads.flatMap((payload) => [encodeFrameHeader(payload.byteLength), payload]);
  return new Uint8Array(Buffer.concat(parts));
}

/** Every frame the reader can cut from what it has so far. */
function drain(reader: FrameReader): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let frame = reader.next(); frame !== undefined; frame = reader.next()) frames.push(frame);
  return frames;
}

describe("encodeFrameHeader", () => {
  it("writes the length as 4 big-endian bytes", () => {
    assert.deepEqual([...encodeFrameHeader(0x01020304)], [1, 2, 3, 4]);
    assert.deepEqual([...encodeFrameHeader(0)], [0, 0, 0, 0]);
    assert.deepEqual([...encodeFrameHeader(MAX_FRAME_BYTES)], [0x10, 0, 0, 0]);
  });

  it("refuses lengths outside 0..MAX_FRAME_BYTES", () => {
    for (const length of [-1, 1.5, MAX_FRAME_BYTES + 1, 2 ** 32]) {
      assert.throws(() => encodeFrameHeader(length), RangeError, `length ${length}`);
    }
  });
});

describe("FrameReader", () => {
  it("returns the frames of a stream however it is cut into chunks", () => {
    checkProperty(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (payloads, rawCuts) => {
          const bytes = stream(payloads);
          const cuts = [...new Set(rawCuts.map((cut) => cut % (bytes.byteLength + 1)))].sort((a, b) => a - b);
          const reader = new FrameReader();
          const frames: Uint8Array[] = [];
          let start = 0;
          for (const cut of [...cuts, bytes.byteLength]) {
            // A fresh copy per chunk, as a socket hands them out.
            reader.push(bytes.slice(start, cut));
            frames.push(...drain(reader));
            start = cut;
          }
          assert.deepEqual(
            frames.map((frame) => [...frame]),
            payloads.map((payload) => [...payload]),
          );
          assert.equal(reader.bufferedBytes, 0, "nothing is left over after whole frames");
        },
      ),
    );
  });

  it("returns a frame inside one chunk as a view, and one spread over chunks as a copy", () => {
    const reader = new FrameReader();
    const whole = stream([new Uint8Array([1, 2, 3])]);
    reader.push(whole);
    const view = reader.next();
    assert.ok(view !== undefined, "a complete frame is returned");
    assert.equal(view.buffer, whole.buffer, "the frame shares the chunk's memory");
    assert.deepEqual([...view], [1, 2, 3]);

    const split = stream([new Uint8Array([4, 5, 6, 7])]);
    reader.push(split.slice(0, 6));
    assert.equal(reader.next(), undefined, "half a frame is not returned");
    reader.push(split.slice(6));
    const copy = reader.next();
    assert.ok(copy !== undefined, "the frame is returned once complete");
    assert.deepEqual([...copy], [4, 5, 6, 7]);
  });

  it("refuses a length above the maximum as soon as the header is complete", () => {
    const reader = new FrameReader();
    reader.push(new Uint8Array([0xff, 0xff]));
    assert.equal(reader.next(), undefined, "half a header is not judged");
    reader.push(new Uint8Array([0xff, 0xf0]));
    assert.throws(
      () => reader.next(),
      (error: unknown) => error instanceof OversizedFrameError && error.length === 0xfffffff0,
    );
    const justAbove = new FrameReader();
    justAbove.push(encodeHeaderUnchecked(MAX_FRAME_BYTES + 1));
    assert.throws(() => justAbove.next(), /oversized frame/);
    const atMaximum = new FrameReader();
    atMaximum.push(encodeFrameHeader(MAX_FRAME_BYTES));
    assert.equal(atMaximum.next(), undefined, "a frame of exactly the maximum waits for its bytes");
  });

  it("honours a smaller maximum", () => {
    const reader = new FrameReader(10);
    reader.push(stream([new Uint8Array(10)]));
    assert.equal(reader.next()?.byteLength, 10, "a frame at the maximum passes");
    reader.push(encodeFrameHeader(11));
    assert.throws(() => reader.next(), OversizedFrameError);
  });

  it("reports the bytes of a frame cut off by the end of the stream", () => {
    const reader = new FrameReader();
    const bytes = stream([new Uint8Array([1]), new Uint8Array(10)]);
    reader.push(bytes.subarray(0, FRAME_HEADER_BYTES + 1 + FRAME_HEADER_BYTES + 3));
    assert.equal(drain(reader).length, 1, "the first frame is complete");
    assert.equal(
      reader.bufferedBytes,
      FRAME_HEADER_BYTES + 3,
      "the header and 3 bytes of the second are left",
    );
    const headerOnly = new FrameReader();
    headerOnly.push(new Uint8Array([0, 0]));
    assert.equal(headerOnly.bufferedBytes, 2, "half a header is left over too");
  });

  it("assembles a large frame from many chunks", () => {
    const payload = new Uint8Array(1_000_000).map((_, index) => index % 251);
    const bytes = stream([payload]);
    const reader = new FrameReader();
    const frames: Uint8Array[] = [];
    for (let start = 0; start < bytes.byteLength; start += 16_384) {
      reader.push(bytes.slice(start, start + 16_384));
      frames.push(...drain(reader));
    }
    assert.equal(frames.length, 1, "one frame comes out");
    assert.ok(Buffer.from(frames[0] as Uint8Array).equals(payload), "its bytes are the payload's");
  });
});

/** A header for any 32-bit length, bypassing the encoder's check, as a broken peer would send. */
function encodeHeaderUnchecked(length: number): Uint8Array {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, length);
  return header;
}

describe("PeerInbox", () => {
  it("lets frames that arrived before a failure be received, then rejects with the failure", async () => {
    const inbox = new PeerInbox(2, "node 2", 5000);
    inbox.deliver(new Uint8Array([1]));
    inbox.fail(new PeerError(2, "node 2 closed the connection"));
    inbox.deliver(new Uint8Array([2]));
    assert.deepEqual([...(await inbox.receive())], [1]);
    await assert.rejects(inbox.receive(), /node 2 closed the connection/);
  });

  it("drops queued frames when failed with discardQueued", async () => {
    const inbox = new PeerInbox(1, "node 1", 5000);
    inbox.deliver(new Uint8Array([1]));
    inbox.fail(new PeerError(1, "closed locally"), true);
    await assert.rejects(inbox.receive(), /closed locally/);
  });

  it("times a receive out naming the peer, and a later frame goes to the next receive", async () => {
    const inbox = new PeerInbox(1, "node 1 (node-b)", 20);
    await assert.rejects(inbox.receive(), (error: unknown) => {
      assert.ok(error instanceof PeerError, "a PeerError");
      assert.equal(error.peer, 1);
      assert.equal(error.message, "node 1 (node-b) sent nothing for 20 ms");
      return true;
    });
    const next = inbox.receive();
    inbox.deliver(new Uint8Array([5]));
    assert.deepEqual([...(await next)], [5]);
  });
});

describe("DelayLine", () => {
  it("emits items in order and resolves drained after the last", async () => {
    const emitted: number[] = [];
    const line = new DelayLine<number>(2, (item) => emitted.push(item));
    for (let item = 0; item < 20; item++) line.push(item);
    assert.equal(line.pending, 20);
    await line.drained();
    assert.deepEqual(emitted, [...Array(20).keys()]);
  });

  it("drops pending items on cancel", async () => {
    const emitted: number[] = [];
    const line = new DelayLine<number>(1000, (item) => emitted.push(item));
    line.push(1);
    const drained = line.drained();
    line.cancel();
    await drained;
    assert.deepEqual(emitted, []);
  });
});
