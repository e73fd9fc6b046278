import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deal, EDGE_WORDS, openShares, runParties, seededWords } from "../../test/support/mpc.ts";
import {
  add,
  addPublic,
  dotSegments,
  mul,
  mulPublic,
  open,
  openTo,
  publicShared,
  randomShared,
  reshare,
  shareFrom,
  sub,
} from "./arithmetic.ts";

const ring = (v: bigint) => BigInt.asUintN(64, v);

/** Random words with the ring's edge values first. */
function testWords(count: number, seed: number): BigUint64Array {
  const words = seededWords(seed)(count);
  words.set(EDGE_WORDS);
  return words;
}

describe("arithmetic sharing over Z_2^64", () => {
  const n = 257;
  const x = testWords(n, 1);
  const y = testWords(n, 2).reverse();
  const dealtX = deal(x, 11);
  const dealtY = deal(y, 12);

  it("adds, subtracts and scales locally, like plain 64-bit arithmetic", async () => {
    const c = 0xdeadbeefcafef00dn;
    const results = await runParties(async (p) => {
      const [a, b] = [dealtX[p.id], dealtY[p.id]];
      return [
        add(a, b),
        sub(a, b),
        addPublic(p.id, a, c),
        mulPublic(a, c),
        mulPublic(a, y),
        publicShared(p.id, y),
      ];
    });
    const opened = [0, 1, 2, 3, 4, 5].map((k) => openShares(results.map((r) => r[k] as never)));
    for (let i = 0; i < n; i++) {
      const [a, b] = [x[i] as bigint, y[i] as bigint];
      assert.equal(opened[0]?.[i], ring(a + b), `add at ${i}`);
      assert.equal(opened[1]?.[i], ring(a - b), `sub at ${i}`);
      assert.equal(opened[2]?.[i], ring(a + c), `addPublic at ${i}`);
      assert.equal(opened[3]?.[i], ring(a * c), `mulPublic at ${i}`);
      assert.equal(opened[4]?.[i], ring(a * b), `mulPublic per value at ${i}`);
      assert.equal(opened[5]?.[i], b, `publicShared at ${i}`);
    }
  });

  it("multiplies in one round and one ring element per value and party", async () => {
    const results = await runParties(async (p) => {
      const product = await mul(p, dealtX[p.id], dealtY[p.id]);
      return { product, counters: { ...p.counters } };
    });
    const opened = openShares(results.map((r) => r.product));
    x.forEach((a, i) => {
      assert.equal(opened[i], ring(a * (y[i] as bigint)), `product at ${i}`);
    });
    for (const { counters } of results) {
      // the PRSS key agreement is not a protocol round: one round of n words
      assert.deepEqual(counters, { rounds: 1, bytesSent: n * 8 }, "cost of a multiplication");
    }
  });

  it("computes dot products of segments at the cost of one multiplication per segment", async () => {
    const segments = [0, 1, 100, 156];
    const results = await runParties(async (p) => {
      const dots = await dotSegments(p, dealtX[p.id], dealtY[p.id], segments);
      return { dots, bytes: p.counters.bytesSent };
    });
    const opened = openShares(results.map((r) => r.dots));
    let start = 0;
    segments.forEach((length, k) => {
      let expected = 0n;
      for (let i = start; i < start + length; i++) expected += (x[i] as bigint) * (y[i] as bigint);
      assert.equal(opened[k], ring(expected), `segment ${k}`);
      start += length;
    });
    for (const r of results) assert.equal(r.bytes, segments.length * 8, "one word per segment");
  });

  it("opens to all, or to one party only", async () => {
    const results = await runParties(async (p) => ({
      all: await open(p, dealtX[p.id]),
      toTwo: await openTo(p, dealtX[p.id], 2),
    }));
    for (const r of results) assert.deepEqual(r.all, x, "everyone sees the opened values");
    assert.deepEqual(results[2].toTwo, x, "party 2 gets its output");
    assert.equal(results[0].toTwo, null, "party 0 gets nothing");
    assert.equal(results[1].toTwo, null, "party 1 gets nothing");
  });

  it("reshares to fresh shares of the same values", async () => {
    const results = await runParties((p) => reshare(p, dealtX[p.id]));
    assert.deepEqual(openShares(results), x, "same values");
    results.forEach((r, i) => {
      assert.notDeepEqual(r.own, dealtX[i as 0]?.own, `fresh shares at party ${i}`);
    });
  });

  for (const owner of [0, 1, 2] as const) {
    it(`shares values known to party ${owner} in one round, sent by the owner only`, async () => {
      const results = await runParties(async (p) => {
        const shares = await shareFrom(p, owner, p.id === owner ? x : null, n);
        return { shares, bytes: p.counters.bytesSent };
      });
      assert.deepEqual(openShares(results.map((r) => r.shares)), x, "the owner's values");
      results.forEach((r, i) => {
        assert.equal(r.bytes, i === owner ? n * 8 : 0, `bytes sent by party ${i}`);
      });
    });
  }

  it("draws random shared vectors without communication", async () => {
    const results = await runParties(async (p) => ({
      shares: randomShared(p, n),
      bytes: p.counters.bytesSent,
    }));
    const opened = openShares(results.map((r) => r.shares));
    assert.equal(new Set(opened).size, n, "random values do not repeat");
    for (const r of results) assert.equal(r.bytes, 0, "no bytes sent");
  });
});
