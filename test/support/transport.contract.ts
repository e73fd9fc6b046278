/**
 * The contract of a Transport as one test suite, run against every implementation (memory.test.ts,
 * tls.test.ts): ordered frames of every size, all six directions at once, stats, timeouts and closes
 * that name the peer.
 * @module
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  PARTIES,
  type PartyId,
  PeerError,
  type Transport,
  type TransportOptions,
} from "../../src/mpc/transport/types.ts";

/** Opens the three parties' linked transports with the given options. */
export type TransportFactory = (options: TransportOptions) => Promise<[Transport, Transport, Transport]>;

/** Options for most tests: a timeout long enough for megabyte frames on a busy machine. */
const PATIENT: TransportOptions = { timeoutMs: 20_000 };
/** Per-test bound, so a hang fails the test instead of the run. */
const TEST_TIMEOUT_MS = 120_000;

const SMALL_SIZES = [0, 1, 7, 64 * 1024] as const;
const LARGE_SIZE = 5 * 1024 * 1024;

/** A frame whose bytes depend on `tag` and whose length is `size`, so order and integrity both show. */
export function taggedFrame(tag: number, size: number): Uint8Array {
  const frame = new Uint8Array(size).fill((tag * 37 + 11) & 0xff);
  if (size >= 4) new DataView(frame.buffer).setUint32(0, tag);
  if (size >= 5) frame[size - 1] = tag & 0xff;
  return frame;
}

/** Asserts two frames hold the same bytes, without printing megabytes on failure. */
export function assertSameFrame(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  assert.ok(
    Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected),
    `${what}: bytes differ`,
  );
}

/** Asserts `promise` rejects with a PeerError naming `peer` whose message matches `pattern`. */
export async function assertPeerError(
  promise: Promise<unknown>,
  peer: PartyId,
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PeerError, `expected a PeerError, got ${String(error)}`);
    assert.equal(error.peer, peer, `the error names node ${error.peer}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

/** The sizes of the frames sent over one direction: the small sizes many times, then two large ones. */
function plannedSizes(rounds: number, large: number): number[] {
  const sizes: number[] = [];
  for (let round = 0; round < rounds; round++) sizes.push(...SMALL_SIZES);
  for (let index = 0; index < large; index++)
    sizes.splice(Math.floor((sizes.length * (index + 1)) / (large + 1)), 0, LARGE_SIZE);
  return sizes;
}

async function closeAll(transports: readonly Transport[]): Promise<void> {
  await Promise.all(transports.map((transport) => transport.close()));
}

/** Registers the contract's tests for the transports `open` gives; each test opens and closes its own. */
export function runTransportContract(label: string, open: TransportFactory): void {
  describe(`Transport contract: ${label}`, { timeout: TEST_TIMEOUT_MS }, () => {
    it("delivers many frames of 0 B to 5 MB from one party to another in order", async () => {
      const transports = await open(PATIENT);
      try {
        const [sender, receiver] = [transports[0], transports[1]];
        const sizes = plannedSizes(25, 2);
        const sent = sizes.map((size, tag) => taggedFrame(tag, size));
        for (const frame of sent) sender.send(1, frame);
        for (const [tag, expected] of sent.entries()) {
          assertSameFrame(
            await receiver.receive(0),
            expected,
            `frame ${tag} of ${expected.byteLength} bytes`,
          );
        }
      } finally {
        await closeAll(transports);
      }
    });

    it("carries all six directions at once, each in order", async () => {
      const transports = await open(PATIENT);
      try {
        const sizes = plannedSizes(10, 1);
        // The tag encodes sender, receiver and index, so a frame in the wrong queue shows.
        const tagOf = (from: PartyId, to: PartyId, index: number): number => (from * 3 + to) * 1000 + index;
        for (const from of PARTIES) {
          for (const [index, size] of sizes.entries()) {
            for (const to of PARTIES) {
              if (to !== from) transports[from].send(to, taggedFrame(tagOf(from, to, index), size));
            }
          }
        }
        await Promise.all(
          PARTIES.flatMap((to) =>
            PARTIES.filter((from) => from !== to).map(async (from) => {
              for (const [index, size] of sizes.entries()) {
                const frame = await transports[to].receive(from);
                assertSameFrame(
                  frame,
                  taggedFrame(tagOf(from, to, index), size),
                  `frame ${index} from ${from} to ${to}`,
                );
              }
            }),
          ),
        );
      } finally {
        await closeAll(transports);
      }
    });

    it("answers receives issued before the frames arrive, in order", async () => {
      const transports = await open(PATIENT);
      try {
        const waiting = [0, 1, 2, 3].map(() => transports[2].receive(0));
        for (const tag of [0, 1, 2, 3]) transports[0].send(2, taggedFrame(tag, 16 + tag));
        for (const [tag, frame] of (await Promise.all(waiting)).entries()) {
          assertSameFrame(frame, taggedFrame(tag, 16 + tag), `frame ${tag}`);
        }
      } finally {
        await closeAll(transports);
      }
    });

    it("counts the frames and payload bytes each party sent", async () => {
      const transports = await open(PATIENT);
      try {
        const [first, second] = [transports[0], transports[1]];
        assert.deepEqual({ ...first.stats }, { framesSent: 0, bytesSent: 0 });
        first.send(1, new Uint8Array(10));
        first.send(2, new Uint8Array(0));
        first.send(2, new Uint8Array(70_000));
        second.send(0, new Uint8Array(3));
        await Promise.all([
          second.receive(0),
          transports[2].receive(0),
          transports[2].receive(0),
          first.receive(1),
        ]);
        assert.deepEqual({ ...first.stats }, { framesSent: 3, bytesSent: 70_010 });
        assert.deepEqual({ ...second.stats }, { framesSent: 1, bytesSent: 3 });
        assert.deepEqual({ ...transports[2].stats }, { framesSent: 0, bytesSent: 0 });
      } finally {
        await closeAll(transports);
      }
    });

    it("keeps the order of frames when it adds latency", async () => {
      const transports = await open({ ...PATIENT, delayMs: 3 });
      try {
        for (let tag = 0; tag < 50; tag++) transports[1].send(2, taggedFrame(tag, tag * 3));
        for (let tag = 0; tag < 50; tag++) {
          assertSameFrame(await transports[2].receive(1), taggedFrame(tag, tag * 3), `delayed frame ${tag}`);
        }
      } finally {
        await closeAll(transports);
      }
    });

    it("rejects a receive from a silent peer, naming it", async () => {
      const transports = await open({ timeoutMs: 1000 });
      try {
        await assertPeerError(transports[0].receive(2), 2, /^node 2\b.* sent nothing for 1000 ms$/);
        // The link still works after a timeout.
        transports[2].send(0, taggedFrame(1, 5));
        assertSameFrame(await transports[0].receive(2), taggedFrame(1, 5), "frame after a timeout");
      } finally {
        await closeAll(transports);
      }
    });

    it("after one party closes, the others' pending and later receives from it reject, naming it", async () => {
      const transports = await open(PATIENT);
      try {
        const pendingAtZero = transports[0].receive(1);
        const pendingAtTwo = transports[2].receive(1);
        // Both are checked at once: a rejection must not wait unhandled while the other is awaited.
        const rejections = Promise.all([
          assertPeerError(pendingAtZero, 1, /^node 1\b.* closed the connection/),
          assertPeerError(pendingAtTwo, 1, /^node 1\b.* closed the connection/),
        ]);
        await transports[1].close();
        await rejections;
        await assertPeerError(transports[0].receive(1), 1, /^node 1\b.* closed the connection/);
        // The closed party's own receives reject too.
        await assertPeerError(transports[1].receive(0), 0, /closed its transport/);
        // The other two still talk.
        transports[0].send(2, taggedFrame(7, 100));
        assertSameFrame(await transports[2].receive(0), taggedFrame(7, 100), "frame between the survivors");
      } finally {
        await closeAll(transports);
      }
    });

    it("delivers the frames a party sent before it closed, then reports the close", async () => {
      const transports = await open(PATIENT);
      try {
        transports[2].send(0, taggedFrame(1, 3));
        transports[2].send(0, taggedFrame(2, 200_000));
        await transports[2].close();
        assertSameFrame(await transports[0].receive(2), taggedFrame(1, 3), "first frame before the close");
        assertSameFrame(
          await transports[0].receive(2),
          taggedFrame(2, 200_000),
          "second frame before the close",
        );
        await assertPeerError(transports[0].receive(2), 2, /^node 2\b.* closed the connection/);
      } finally {
        await closeAll(transports);
      }
    });

    it("refuses to send after its own close and to send to itself", async () => {
      const transports = await open(PATIENT);
      try {
        assert.throws(() => transports[0].send(0, new Uint8Array(1)), RangeError);
        await transports[0].close();
        assert.throws(() => transports[0].send(1, new Uint8Array(1)), /closed/);
        await transports[0].close();
      } finally {
        await closeAll(transports);
      }
    });
  });
}
