import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deal, runParties, seededWords } from "../../test/support/mpc.ts";
import { mul } from "./arithmetic.ts";
import { lessThan } from "./compare.ts";
import { shuffle } from "./shuffle.ts";
import { joinParts } from "./transport/frames.ts";
import { memoryTransports } from "./transport/memory.ts";
import { type PartyId, PeerError, type Transport } from "./transport/types.ts";

/** Wraps a transport to record every frame it receives, or to tamper with what it sends. */
function wrap(
  inner: Transport,
  hooks: {
    received?: (frame: Uint8Array) => void;
    outgoing?: (frame: Uint8Array, count: number) => Uint8Array;
  },
): Transport {
  let sent = 0;
  return {
    party: inner.party,
    stats: inner.stats,
    send: (to: PartyId, ...parts: readonly ArrayBufferView[]) => {
      const frame = joinParts(parts, 0);
      inner.send(to, hooks.outgoing?.(frame, sent++) ?? frame);
    },
    receive: async (from: PartyId) => {
      const frame = await inner.receive(from);
      hooks.received?.(frame);
      return frame;
    },
    close: () => inner.close(),
  };
}

describe("a node's view", () => {
  it("never contains an input in the clear, at any byte offset", async () => {
    const n = 1000;
    const secrets = seededWords(42)(n).map((w) => w >> 2n);
    const other = seededWords(43)(n).map((w) => w >> 2n);
    const dealt = deal(secrets, 1);
    const dealtOther = deal(other, 2);
    const views: Uint8Array[][] = [[], [], []];
    const transports = memoryTransports({ timeoutMs: 5000 }).map((t) =>
      wrap(t, { received: (frame) => views[t.party]?.push(frame.slice()) }),
    ) as [Transport, Transport, Transport];
    const held = await runParties(async (p) => {
      const product = await mul(p, dealt[p.id], dealtOther[p.id]);
      const below = await lessThan(p, dealt[p.id], dealtOther[p.id], 64);
      const [shuffled] = await shuffle(p, [dealt[p.id]]);
      return [dealt[p.id], product, below, shuffled];
    }, transports);
    const secretSet = new Set([...secrets, ...other]);
    for (const party of [0, 1, 2] as const) {
      let words = 0;
      for (const frame of views[party] ?? []) {
        const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
        for (let at = 0; at + 8 <= frame.length; at++) {
          words++;
          assert.ok(
            !secretSet.has(view.getBigUint64(at, true)),
            `party ${party} received an input in the clear`,
          );
        }
      }
      assert.ok(words > 10 * n, `party ${party} received traffic to inspect (${words} words)`);
      for (const shares of held[party] ?? []) {
        for (const component of [shares?.own, shares?.next]) {
          assert.ok(!component?.some((w) => secretSet.has(w)), `party ${party} holds an input in the clear`);
        }
      }
    }
  });
});

describe("faults", () => {
  it("a truncated frame from a peer aborts every waiting party with an error naming it", async () => {
    const values = seededWords(1)(100);
    const dealt = deal(values, 1);
    // Party 1's first protocol frame (after the PRSS key) loses its last byte.
    const transports = memoryTransports({ timeoutMs: 2000 }).map((t) =>
      t.party === 1
        ? wrap(t, { outgoing: (frame, count) => (count === 1 ? frame.subarray(0, frame.length - 1) : frame) })
        : t,
    ) as [Transport, Transport, Transport];
    const outcomes = await Promise.allSettled([
      runParties((p) => mul(p, dealt[p.id], dealt[p.id]), transports),
    ]);
    const [outcome] = outcomes;
    assert.equal(outcome?.status, "rejected", "the protocol fails");
    const reason = (outcome as PromiseRejectedResult).reason;
    assert.ok(reason instanceof PeerError, `a peer error: ${reason}`);
    assert.equal(reason.peer, 1, "names node 1");
    assert.match(reason.message, /node 1 sent a malformed frame: 799 bytes where 800 were due/);
  });

  it("a silent peer aborts the others within the timeout, naming it", async () => {
    const values = seededWords(2)(10);
    const dealt = deal(values, 2);
    const transports = memoryTransports({ timeoutMs: 200 });
    const silent = transports[2];
    const { Party } = await import("./party.ts");
    const parties = await Promise.all(transports.map((t) => Party.connect(t)));
    const running = parties.slice(0, 2).map((p) => mul(p, dealt[p.id], dealt[p.id]));
    // In a multiplication party 1 waits on party 2; party 0 waits on party 1, which does send.
    const [zero, one] = await Promise.allSettled(running);
    assert.equal(zero?.status, "fulfilled", "party 0 got what it waited for");
    assert.equal(one?.status, "rejected", "party 1 does not hang");
    const reason = (one as PromiseRejectedResult).reason;
    assert.ok(reason instanceof PeerError, `a peer error: ${reason}`);
    assert.equal(reason.peer, 2, `names node 2: ${reason.message}`);
    await Promise.all(transports.map((t) => t.close()));
    assert.equal(silent.party, 2, "party 2 never ran");
  });
});
