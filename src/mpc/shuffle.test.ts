import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deal, openShares, runParties, seededWords } from "../../test/support/mpc.ts";
import { permutationFrom, shuffle } from "./shuffle.ts";

describe("secure shuffle", () => {
  const n = 500;
  const keys = new BigUint64Array(n).map((_, i) => BigInt(i));
  const payload = seededWords(3)(n);
  const dealtKeys = deal(keys, 1);
  const dealtPayload = deal(payload, 2);

  it("permutes rows, keeping each row's columns together, in three rounds", async () => {
    const results = await runParties(async (p) => {
      const columns = await shuffle(p, [dealtKeys[p.id], dealtPayload[p.id]]);
      return { columns, counters: { ...p.counters } };
    });
    const shuffledKeys = openShares(results.map((r) => r.columns[0] as never));
    const shuffledPayload = openShares(results.map((r) => r.columns[1] as never));
    assert.deepEqual(
      [...shuffledKeys].sort((a, b) => Number(a - b)),
      [...keys],
      "a permutation of the rows",
    );
    shuffledKeys.forEach((key, i) => {
      assert.equal(shuffledPayload[i], payload[Number(key)], `row ${i} intact`);
    });
    const fixed = shuffledKeys.filter((key, i) => key === BigInt(i)).length;
    assert.ok(fixed < 10, `the order changed: ${fixed} rows stayed in place`);
    for (const { counters } of results) {
      assert.deepEqual(
        counters,
        { rounds: 3, bytesSent: 2 * 2 * n * 8 },
        "three rounds, two words per value and column",
      );
    }
  });

  it("gives a different order on each run", async () => {
    const orders = await Promise.all(
      [1, 2].map(async () =>
        openShares(await runParties(async (p) => (await shuffle(p, [dealtKeys[p.id]]))[0] as never)),
      ),
    );
    assert.notDeepEqual(orders[0], orders[1], "fresh PRSS keys give a fresh permutation");
  });

  it("draws uniform permutations by Fisher–Yates", () => {
    // All 6 orders of 3 items appear about equally often over many draws.
    const random = seededWords(4);
    const counts = new Map<string, number>();
    for (let k = 0; k < 6000; k++) {
      const order = [...permutationFrom(random(3))].join("");
      counts.set(order, (counts.get(order) ?? 0) + 1);
    }
    assert.equal(counts.size, 6, "every order occurs");
    for (const [order, count] of counts)
      assert.ok(count > 850 && count < 1150, `order ${order}: ${count} of 6000`);
  });
});
