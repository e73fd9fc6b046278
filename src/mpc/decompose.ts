/**
 * Bit decomposition: the low bits of shared ring elements as shared 0/1 ring elements, by local
 * share conversion, a log-depth parallel-prefix adder (Kogge–Stone) and one bit injection.
 * @module
 */
import type { Shared } from "./arithmetic.ts";
import { and, type BitShared, concatBits, sliceBits, wordsFor, xor } from "./binary.ts";
import { injectBits, prepareDaBits, splitToBits } from "./convert.ts";
import type { Party } from "./party.ts";

/**
 * Bits 0 … bits − 1 of x (mod 2^bits), as 0/1 shares with bit t of value i at t·stride + i
 * (stride = 64·⌈n/64⌉). Rounds: 3 + ⌈log₂ bits⌉; bytes per value and party ≈ 8·bits plus the adder's
 * ANDs (~2·bits·log₂ bits bits).
 */
export async function bitDecompose(
  party: Party,
  x: Shared,
  bits: number,
): Promise<{ bits: Shared; stride: number }> {
  const n = x.own.length;
  const words = wordsFor(n);
  const stride = 64 * words;
  const daBits = prepareDaBits(party, bits * stride);
  const { y, c } = await splitToBits(party, x, bits, false);
  const plane = (s: BitShared, j: number) => sliceBits(s, j * words, (j + 1) * words);
  const propagate = xor(y, c);
  const generated = await and(party, y, c);
  // Prefix (G, P) over [0, j] for every j, doubling the span each level: G_j ← G_j ⊕ P_j ∧ G_{j−d},
  // P_j ← P_j ∧ P_{j−d}. P of a span reaching bit 0 is never needed.
  let g = Array.from({ length: bits }, (_, j) => plane(generated, j));
  let p = Array.from({ length: bits }, (_, j) => plane(propagate, j));
  for (let span = 1; span < bits; span *= 2) {
    const left: BitShared[] = [];
    const right: BitShared[] = [];
    for (let j = span; j < bits; j++) {
      left.push(p[j] as BitShared);
      right.push(g[j - span] as BitShared);
      if (j >= 2 * span) {
        left.push(p[j] as BitShared);
        right.push(p[j - span] as BitShared);
      }
    }
    const products = await and(party, concatBits(left), concatBits(right));
    let at = 0;
    const take = () => sliceBits(products, at * words, ++at * words);
    const nextG = g.slice();
    const nextP = p.slice();
    for (let j = span; j < bits; j++) {
      nextG[j] = xor(g[j] as BitShared, take());
      if (j >= 2 * span) nextP[j] = take();
    }
    g = nextG;
    p = nextP;
  }
  // Sum bit j = y_j ⊕ c_j ⊕ carry into j, the carry being the prefix generate through j − 1.
  const sums = Array.from({ length: bits }, (_, j) =>
    j === 0 ? plane(propagate, 0) : xor(plane(propagate, j), g[j - 1] as BitShared),
  );
  return { bits: await injectBits(party, concatBits(sums), daBits), stride };
}
