/**
 * ⌊R·m/M⌋ on shares for a secret m in [0, M] and public R ≥ 0, M > 0: the marginal rationing of the
 * auction (R Wh shared over marginal volume M) and the proportional deviation split of billing (a
 * pool of R money units over the side's total deviation M) both need it.
 *
 * Without a division protocol: with m's bits b_t, R·m = Σ b_t·R·2^t and R·2^t = K_t·M + L_t (K_t, L_t
 * public), so ⌊R·m/M⌋ = Σ b_t·K_t + ⌊F/M⌋ with F = Σ b_t·L_t < bits·M; the small quotient ⌊F/M⌋ <
 * bits is found digit by digit, one comparison per value and step.
 * @module
 */
import {
  add,
  addPublic,
  concat,
  linearCombination,
  mulPublic,
  publicShared,
  type Shared,
  slice,
  sub,
} from "./arithmetic.ts";
import { lessThanZero, oneMinus } from "./compare.ts";
import { bitDecompose } from "./decompose.ts";
import type { Party } from "./party.ts";

/** Values m that share one public numerator R and denominator M (every m ≤ M). */
export interface ScaledGroup {
  readonly values: Shared;
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/**
 * ⌊R·m/M⌋ of every value of every group, all groups in the same rounds. With `withPositive`, also
 * [m > 0] of each value, asked in the first comparison round at no extra round.
 * @param valueBits an upper bound on the bit length of every m.
 */
export async function floorScaled(
  party: Party,
  groups: readonly ScaledGroup[],
  valueBits: number,
  withPositive = false,
): Promise<{ quotients: Shared[]; positive: Shared[] }> {
  if (groups.length === 0) return { quotients: [], positive: [] };
  const counts = groups.map((group) => group.values.own.length);
  const offsets = counts.map((_, k) => counts.slice(0, k).reduce((a, b) => a + b, 0));
  // A value is at most its group's M, which is public: only that many bits need decomposing.
  const width = Math.min(valueBits, Math.max(...groups.map((group) => bitLength(group.denominator))));
  const { bits, stride } = await bitDecompose(party, concat(groups.map((group) => group.values)), width);
  const bit = (t: number, group: number) =>
    slice(
      bits,
      t * stride + (offsets[group] as number),
      t * stride + (offsets[group] as number) + (counts[group] as number),
    );

  // Per group: q0 = Σ b_t·K_t and F = Σ b_t·L_t = R·m − M·q0, as Σ b_t·(K_t·M + L_t) = R·m (local).
  const quotients: Shared[] = [];
  const remainders: Shared[] = [];
  let compareBits = width + 2;
  groups.forEach((group, k) => {
    const count = counts[k] as number;
    const planes = Array.from({ length: width }, (_, t) => bit(t, k));
    const multiples = planes.map((_, t) =>
      group.denominator === 0n ? 0n : (group.numerator << BigInt(t)) / group.denominator,
    );
    const quotient = linearCombination(count, planes, multiples);
    quotients.push(quotient);
    remainders.push(
      sub(
        mulPublic(group.values, BigInt.asUintN(64, group.numerator)),
        mulPublic(quotient, BigInt.asUintN(64, group.denominator)),
      ),
    );
    compareBits = Math.max(compareBits, bitLength(BigInt(width) * group.denominator) + 2);
  });

  // ⌊F/M⌋ < bits: its digits from the top, base 4 (a lone top bit when the bit count is odd), every
  // candidate of a step compared at once — F − (prefix + c·4^d)·M is linear in the partial quotient,
  // which stays shared — so half the steps of a bit per step. The first step may also ask [m > 0].
  const quotientBits = bitLength(BigInt(Math.max(width - 1, 1)));
  const prefixes = counts.map((count) => publicShared(party.id, new BigUint64Array(count)));
  let positive: Shared[] = [];
  for (let low = quotientBits - (quotientBits % 2 === 1 ? 1 : 2); low >= 0; low -= 2) {
    const first = low === quotientBits - (quotientBits % 2 === 1 ? 1 : 2);
    const candidates = first && quotientBits % 2 === 1 ? [1n] : [1n, 2n, 3n];
    const checks = groups.flatMap((group, k) => {
      const rest = sub(
        remainders[k] as Shared,
        mulPublic(prefixes[k] as Shared, BigInt.asUintN(64, group.denominator)),
      );
      return candidates.map((c) =>
        addPublic(party.id, rest, BigInt.asUintN(64, -((c << BigInt(low)) * group.denominator))),
      );
    });
    const askPositive = first && withPositive;
    if (askPositive)
      checks.push(
        ...groups.map((group) =>
          sub(publicShared(party.id, new BigUint64Array(group.values.own.length)), group.values),
        ),
      );
    const below = await lessThanZero(party, concat(checks), compareBits);
    let at = 0;
    const next = (count: number) => {
      const part = slice(below, at, at + count);
      at += count;
      return part;
    };
    groups.forEach((_, k) => {
      // The digit is how many candidates F reaches: Σ (1 − below).
      const reached = candidates.map(() => oneMinus(party, next(counts[k] as number)));
      prefixes[k] = add(prefixes[k] as Shared, mulPublic(reached.reduce(add), 1n << BigInt(low)));
    });
    if (askPositive) positive = counts.map((count) => next(count));
  }
  return { quotients: quotients.map((q, k) => add(q, prefixes[k] as Shared)), positive };
}

export function bitLength(value: bigint): number {
  return value <= 0n ? 1 : value.toString(2).length;
}
