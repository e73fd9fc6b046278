import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { deal, EDGE_WORDS, openShares, runParties, seededWords } from "../../test/support/mpc.ts";
import { propertyOptions } from "../../test/support/property.ts";
import { equals, equalsPublic, equalsZero, lessThan, lessThanPublic, lessThanZero } from "./compare.ts";

const signed = (w: bigint) => BigInt.asIntN(64, w);

/** Random values whose differences fit `bits` signed bits, plus the ring's edge values where they fit. */
function valuesWithin(bits: number, count: number, seed: number): BigUint64Array {
  const random = seededWords(seed)(count);
  const half = 1n << BigInt(bits - 1);
  const edges = [0n, 1n, half - 1n, -half, -1n].map((v) => BigInt.asUintN(64, v));
  return random.map((w, i) =>
    i < edges.length ? (edges[i] as bigint) : BigInt.asUintN(64, BigInt.asIntN(bits, w)),
  );
}

describe("lessThanZero", () => {
  for (const bits of [2, 3, 16, 17, 33, 63, 64]) {
    it(`agrees with plain arithmetic on ${bits}-bit values`, async () => {
      const values = valuesWithin(bits, 300, bits);
      const dealt = deal(values, bits);
      const results = await runParties((party) => lessThanZero(party, dealt[party.id], bits));
      const opened = openShares(results);
      values.forEach((v, i) => {
        assert.equal(opened[i], signed(v) < 0n ? 1n : 0n, `value ${signed(v)} (${bits} bits)`);
      });
    });
  }
});

describe("lessThan and equals", () => {
  it("compare pairs of 63-bit values, edge values included", async () => {
    const n = 200;
    const random = seededWords(7);
    const a = random(n).map((w) => w >> 1n);
    const b = random(n).map((w) => w >> 1n);
    b.set([0n, 1n, 2n ** 63n - 1n, 5n], 0);
    a.set([0n, 2n ** 63n - 1n, 2n ** 63n - 1n, 5n], 0);
    const dealtA = deal(a, 1);
    const dealtB = deal(b, 2);
    const [lt, eq] = [
      openShares(await runParties((p) => lessThan(p, dealtA[p.id], dealtB[p.id], 64))),
      openShares(await runParties((p) => equals(p, dealtA[p.id], dealtB[p.id], 64))),
    ];
    for (let i = 0; i < n; i++) {
      assert.equal(lt[i], (a[i] as bigint) < (b[i] as bigint) ? 1n : 0n, `${a[i]} < ${b[i]}`);
      assert.equal(eq[i], a[i] === b[i] ? 1n : 0n, `${a[i]} = ${b[i]}`);
    }
  });

  it("compare with public values, one constant or one per value", async () => {
    const values = new BigUint64Array([...EDGE_WORDS, 17n, 42n, 43n]);
    const dealt = deal(values, 3);
    // Edge values against 0 (x − c must fit the bit length), small ones against 42.
    const thresholds = new BigUint64Array([0n, 0n, 0n, 0n, 0n, 42n, 42n, 42n]);
    const perValue = new BigUint64Array([...EDGE_WORDS, 17n, 41n, 44n]);
    const below = openShares(await runParties((p) => lessThanPublic(p, dealt[p.id], thresholds, 64)));
    const equal = openShares(await runParties((p) => equalsPublic(p, dealt[p.id], perValue, 64)));
    values.forEach((v, i) => {
      const c = signed(thresholds[i] as bigint);
      assert.equal(below[i], signed(v) < c ? 1n : 0n, `${signed(v)} < ${c}`);
      assert.equal(equal[i], v === perValue[i] ? 1n : 0n, `${v} = ${perValue[i]}`);
    });
  });
});

describe("comparisons, property-based", () => {
  it("agree with plain arithmetic for any bit length, vector length and values in range", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 64 }),
        fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: 0, maxLength: 150 }),
        async (bits, raw) => {
          const values = new BigUint64Array(raw.map((v) => BigInt.asUintN(64, BigInt.asIntN(bits, v))));
          const dealt = deal(values, bits);
          const [below, zero] = await Promise.all([
            runParties((p) => lessThanZero(p, dealt[p.id], bits)),
            runParties((p) => equalsZero(p, dealt[p.id], bits)),
          ]);
          const [openedBelow, openedZero] = [openShares(below), openShares(zero)];
          values.forEach((v, i) => {
            assert.equal(openedBelow[i], signed(v) < 0n ? 1n : 0n, `${signed(v)} < 0 at ${bits} bits`);
            assert.equal(openedZero[i], v === 0n ? 1n : 0n, `${signed(v)} = 0 at ${bits} bits`);
          });
        },
      ),
      propertyOptions(0.25),
    );
  });
});
