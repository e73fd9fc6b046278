import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "./random.ts";

describe("seeded randomness", () => {
  it("repeats itself for the same seed and differs for another", () => {
    const draw = (seed: number): number[] => {
      const random = seededRandom(seed);
      return Array.from({ length: 5 }, () => random.int(0, 1_000_000));
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
  });

  it("forks streams that do not depend on what was drawn before", () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    b.next();
    b.next();
    assert.equal(a.fork("household h1").next(), b.fork("household h1").next());
    assert.notEqual(a.fork("household h1").next(), a.fork("household h2").next());
  });

  it("draws uniform floats in [0, 1) and normals around their mean", () => {
    const random = seededRandom(3);
    let sum = 0;
    for (let i = 0; i < 20_000; i++) {
      const value = random.next();
      assert.ok(value >= 0 && value < 1);
      sum += random.normal(10, 2);
    }
    assert.ok(Math.abs(sum / 20_000 - 10) < 0.1);
  });
});
