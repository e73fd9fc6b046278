import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex } from "viem";
import { keccak256Bytes } from "./keccak.ts";
import { MerkleTree, rootOf, verifyProof } from "./merkle.ts";

const leavesOf = (count: number) =>
  Array.from({ length: count }, (_, i) => keccak256Bytes(new Uint8Array([i, count])));

describe("Merkle trees as OpenZeppelin's MerkleProof verifies them", () => {
  it("proves every leaf of trees of 1 to 33 leaves, odd levels included, and no altered leaf", () => {
    for (let count = 1; count <= 33; count++) {
      const leaves = leavesOf(count);
      const tree = new MerkleTree(leaves);
      assert.equal(rootOf(leaves.map((leaf) => bytesToHex(leaf))), tree.root);
      leaves.forEach((leaf, i) => {
        const proof = tree.proof(i);
        assert.ok(verifyProof(tree.root, leaf, proof), `leaf ${i} of ${count}`);
        const altered = leaf.slice();
        altered[0] = (altered[0] as number) ^ 1;
        assert.ok(!verifyProof(tree.root, altered, proof), `altered leaf ${i} of ${count}`);
      });
    }
  });

  it("has the zero root when empty, the leaf itself for one leaf, and refuses a proof of a leaf it lacks", () => {
    assert.equal(new MerkleTree([]).root, `0x${"00".repeat(32)}`);
    const [leaf] = leavesOf(1) as [Uint8Array];
    assert.equal(new MerkleTree([leaf]).root, bytesToHex(leaf));
    for (const index of [-1, 1, 0.5]) assert.throws(() => new MerkleTree([leaf]).proof(index), RangeError);
  });
});
