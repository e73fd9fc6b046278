/**
 * Merkle trees of 32-byte leaves as OpenZeppelin's `MerkleProof` verifies them on chain: each parent
 * is keccak256 of its two children in ascending byte order, and a node without a sibling moves up
 * unchanged. Built on raw bytes with WebAssembly keccak: OpenZeppelin's JavaScript tree, which
 * hashes hex strings, took 1.4 s for 10,000 leaves, too slow for every slot.
 * @module
 */

import type { Hex } from "viem";
import { bytesToHex, hexToBytes } from "./hex.ts";
import { keccak256Bytes } from "./keccak.ts";

/** A tree over leaves in the order given; an empty tree has the zero root. */
export class MerkleTree {
  /** Level 0 holds the leaves, the last level the root. */
  private readonly levels: Uint8Array[][];

  constructor(leaves: readonly Uint8Array[]) {
    const levels: Uint8Array[][] = [leaves.slice()];
    for (let level = levels[0] as Uint8Array[]; level.length > 1; ) {
      const parents: Uint8Array[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const right = level[i + 1];
        parents.push(
          right === undefined ? (level[i] as Uint8Array) : hashPair(level[i] as Uint8Array, right),
        );
      }
      levels.push(parents);
      level = parents;
    }
    this.levels = levels;
  }

  get root(): Hex {
    const top = this.levels[this.levels.length - 1]?.[0];
    return top === undefined ? `0x${"00".repeat(32)}` : bytesToHex(top);
  }

  /** The siblings on the path from leaf `index` to the root. */
  proof(index: number): Hex[] {
    if (!Number.isInteger(index) || index < 0 || index >= (this.levels[0]?.length ?? 0))
      throw new RangeError(`no leaf ${index} in a tree of ${this.levels[0]?.length ?? 0}`);
    const proof: Hex[] = [];
    for (let level = 0; level < this.levels.length - 1; level++) {
      const sibling = (this.levels[level] as Uint8Array[])[index ^ 1];
      if (sibling !== undefined) proof.push(bytesToHex(sibling));
      index >>= 1;
    }
    return proof;
  }
}

/** The root of a tree over leaves given as hex, as a board publishes them. */
export function rootOf(leaves: readonly Hex[]): Hex {
  return new MerkleTree(leaves.map((leaf) => hexToBytes(leaf))).root;
}

/** Whether `proof` leads from `leaf` to `root`, as `MerkleProof.verify` decides on chain. */
export function verifyProof(root: Hex, leaf: Uint8Array, proof: readonly Hex[]): boolean {
  let node = leaf;
  for (const sibling of proof) node = hashPair(node, hexToBytes(sibling));
  return bytesToHex(node) === root.toLowerCase();
}

/** keccak256 of the two nodes, the smaller first. */
function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64);
  const aFirst = compareBytes(a, b) <= 0;
  pair.set(aFirst ? a : b, 0);
  pair.set(aFirst ? b : a, 32);
  return keccak256Bytes(pair);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}
