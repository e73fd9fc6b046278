import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deal, EDGE_WORDS, openShares, runParties, seededWords } from "../../test/support/mpc.ts";
import type { Shared } from "./arithmetic.ts";
import {
  and,
  type BitShared,
  bitslice,
  bitsToWords,
  not,
  openBits,
  transpose32,
  wordsFor,
  xor,
} from "./binary.ts";
import { bitInjection, prepareDaBits } from "./convert.ts";
import { bitDecompose } from "./decompose.ts";
import type { Party } from "./party.ts";

/** Deals bit words as replicated XOR shares: components r0, r1 and w ⊕ r0 ⊕ r1. */
function dealBits(words: BigUint64Array, seed: number): [BitShared, BitShared, BitShared] {
  const random = seededWords(seed);
  const c0 = random(words.length);
  const c1 = random(words.length);
  const c2 = words.map((w, i) => w ^ (c0[i] as bigint) ^ (c1[i] as bigint));
  return [
    { own: c0, next: c1 },
    { own: c1, next: c2 },
    { own: c2, next: c0 },
  ];
}

function xorOpen(shares: readonly BitShared[]): BigUint64Array {
  const [s0, s1] = shares as [BitShared, BitShared];
  return s0.own.map((w, i) => w ^ (s0.next[i] as bigint) ^ (s1.next[i] as bigint));
}

describe("bitslicing", () => {
  it("puts bit j of value v at bit v of plane j", () => {
    for (const count of [1, 63, 64, 65, 200]) {
      const values = seededWords(count)(count);
      values.set(EDGE_WORDS.slice(0, Math.min(count, EDGE_WORDS.length)));
      for (const bits of [1, 17, 32, 33, 64]) {
        const planes = bitslice(values, bits);
        const words = wordsFor(count);
        assert.equal(planes.length, bits * words, "plane layout");
        for (let j = 0; j < bits; j++) {
          const plane = bitsToWords(planes.subarray(j * words, (j + 1) * words), count);
          values.forEach((v, i) => {
            assert.equal(plane[i], (v >> BigInt(j)) & 1n, `bit ${j} of value ${i} (${count} values)`);
          });
        }
      }
    }
  });

  it("transposes a 32 × 32 bit matrix twice back to itself", () => {
    const rows = new Uint32Array(seededWords(5)(16).buffer);
    const copy = rows.slice();
    transpose32(rows);
    assert.notDeepEqual(rows, copy, "a random matrix is not symmetric");
    for (let r = 0; r < 32; r++) {
      for (let c = 0; c < 32; c++) {
        assert.equal(((rows[r] as number) >>> c) & 1, ((copy[c] as number) >>> r) & 1, `entry ${r},${c}`);
      }
    }
    transpose32(rows);
    assert.deepEqual(rows, copy, "involution");
  });
});

describe("binary sharing", () => {
  const x = seededWords(21)(40);
  const y = seededWords(22)(40);
  x.set(EDGE_WORDS);
  const [dx, dy] = [dealBits(x, 1), dealBits(y, 2)];

  it("ANDs, XORs and negates word-wise, one bit per gate and party", async () => {
    const results = await runParties(async (p) => {
      const a = dx[p.id] as BitShared;
      const b = dy[p.id] as BitShared;
      const conjunction = await and(p, a, b);
      return { conjunction, xor: xor(a, b), not: not(p.id, a), bytes: p.counters.bytesSent };
    });
    assert.deepEqual(
      xorOpen(results.map((r) => r.conjunction)),
      x.map((w, i) => w & (y[i] as bigint)),
      "AND",
    );
    assert.deepEqual(
      xorOpen(results.map((r) => r.xor)),
      x.map((w, i) => w ^ (y[i] as bigint)),
      "XOR",
    );
    assert.deepEqual(
      xorOpen(results.map((r) => r.not)),
      x.map((w) => ~w),
      "NOT",
    );
    for (const r of results) assert.equal(r.bytes, 40 * 8, "one word per 64 gates");
  });

  it("opens bit words to all parties", async () => {
    const results = await runParties((p) => openBits(p, dx[p.id] as BitShared));
    for (const opened of results) assert.deepEqual(opened, x, "opened words");
  });
});

describe("daBits and bit injection", () => {
  const run = (protocol: (p: Party) => Promise<Shared>) => runParties(protocol);

  it("prepares random bits that agree in both rings", async () => {
    const n = 300;
    const results = await runParties(async (p) => {
      const pending = prepareDaBits(p, n);
      await p.flush();
      return pending;
    });
    const bits = bitsToWords(xorOpen(results.map((r) => r.bits)), n);
    const values = openShares(results.map((r) => r.values));
    assert.deepEqual(values, bits, "same bit in both rings");
    const ones = bits.filter((b) => b === 1n).length;
    assert.ok(ones > 100 && ones < 200, `bits look random: ${ones} ones of ${n}`);
  });

  it("injects shared bits into the arithmetic ring", async () => {
    const n = 130;
    const words = seededWords(9)(wordsFor(n));
    const dealt = dealBits(words, 3);
    const results = await run((p) => bitInjection(p, dealt[p.id] as BitShared, n));
    assert.deepEqual(openShares(results), bitsToWords(words, n), "bits as ring elements");
  });
});

describe("bit decomposition", () => {
  it("gives the low bits of any ring element as 0/1 shares", async () => {
    for (const bits of [1, 2, 5, 17, 33, 64]) {
      const values = seededWords(bits)(70);
      values.set(EDGE_WORDS);
      const dealt = deal(values, bits);
      const results = await runParties((p) => bitDecompose(p, dealt[p.id], bits));
      const stride = results[0].stride;
      const opened = openShares(results.map((r) => r.bits));
      values.forEach((v, i) => {
        for (let t = 0; t < bits; t++) {
          assert.equal(opened[t * stride + i], (v >> BigInt(t)) & 1n, `bit ${t} of ${v} (${bits} bits)`);
        }
      });
    }
  });
});
