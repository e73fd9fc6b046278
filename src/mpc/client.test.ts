import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EDGE_WORDS, seededWords } from "../../test/support/mpc.ts";
import { InconsistentSharesError, reconstruct, shareInputs } from "./client.ts";

describe("household client", () => {
  const values = new BigUint64Array([...EDGE_WORDS, 12345n]);

  it("splits inputs so that the nodes' shares reconstruct them", () => {
    const shares = shareInputs(values, seededWords(1));
    assert.deepEqual(reconstruct(shares), values, "round trip");
  });

  it("gives no node a share equal to an input", () => {
    const shares = shareInputs(values);
    for (const [node, share] of shares.entries()) {
      values.forEach((v, i) => {
        assert.notEqual(share.own[i], v, `node ${node} own share of value ${i}`);
        assert.notEqual(share.next[i], v, `node ${node} next share of value ${i}`);
      });
    }
  });

  for (const liar of [0, 1, 2] as const) {
    it(`names node ${liar} when it sends wrong shares`, () => {
      const shares = shareInputs(values, seededWords(2));
      const bad = shares[liar];
      bad.own = bad.own.map((w) => w + 1n);
      bad.next = bad.next.map((w) => w + 1n);
      assert.throws(
        () => reconstruct(shares),
        (error: unknown) => {
          assert.ok(error instanceof InconsistentSharesError, "an inconsistency error");
          assert.deepEqual(error.suspects, [liar], "the lying node");
          return true;
        },
      );
    });
  }

  it("refuses shares of the wrong length, naming the node", () => {
    const shares = shareInputs(values, seededWords(3));
    shares[1].next = shares[1].next.subarray(1);
    assert.throws(() => reconstruct(shares), /node 1 sent 5 shares where 6 were due/);
  });
});
