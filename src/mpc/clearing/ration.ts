/**
 * Exact marginal rationing (spec/market.md) on shares: each marginal order gets ⌊R·m/M⌋ of the
 * shared volume R, then the Wh left over go one each to the first marginal orders in ascending id
 * order. R and M are public (the spec allows them); m, the quotients and the leftover stay secret.
 *
 * ⌊R·m/M⌋ without a division protocol: with m's bits b_t, R·m = Σ b_t·R·2^t and
 * R·2^t = K_t·M + L_t (K_t, L_t public), so ⌊R·m/M⌋ = Σ b_t·K_t + ⌊F/M⌋ with F = Σ b_t·L_t < bits·M;
 * the small quotient ⌊F/M⌋ < bits is found digit by digit, one comparison per order and step.
 * @module
 */
import {
  add,
  addPublic,
  concat,
  linearCombination,
  mul,
  mulPublic,
  publicShared,
  type Shared,
  slice,
  sub,
} from "../arithmetic.ts";
import { lessThanZero, oneMinus } from "../compare.ts";
import { bitDecompose } from "../decompose.ts";
import type { Party } from "../party.ts";
import { total, zeros } from "./book.ts";

/** One side to ration: its orders in ascending id order, split by the margin, and the margin's R and M. */
export interface RationSide {
  full: Shared;
  marginal: Shared;
  sharedWh: bigint;
  marginalWh: bigint;
}

/** Fills of every side, aligned with its orders: full volume plus the rationed share. Both sides run together. */
export async function ration(
  party: Party,
  sides: readonly RationSide[],
  volumeBits: number,
): Promise<Shared[]> {
  // R and M are public: a side whose marginal orders get all they ask (R = M) or nothing (R = 0)
  // needs no division, and only the sides really rationed pay for it (often one of the two).
  const whole = (side: RationSide) => side.sharedWh === side.marginalWh || side.sharedWh === 0n;
  const divided = sides.filter((side) => !whole(side));
  const quotas = divided.length > 0 ? await divide(party, divided, volumeBits) : [];
  let next = 0;
  return sides.map((side) => {
    if (!whole(side)) return quotas[next++] as Shared;
    return side.sharedWh === 0n ? side.full : add(side.full, side.marginal);
  });
}

/** {@link ration} of sides whose R lies strictly between 0 and M. */
async function divide(party: Party, sides: readonly RationSide[], volumeBits: number): Promise<Shared[]> {
  const counts = sides.map((side) => side.marginal.own.length);
  const offsets = counts.map((_, k) => counts.slice(0, k).reduce((a, b) => a + b, 0));
  // A marginal volume is at most its side's M, which is public: only that many bits need decomposing.
  const width = Math.min(volumeBits, Math.max(...sides.map((side) => bitLength(side.marginalWh))));
  const { bits, stride } = await bitDecompose(party, concat(sides.map((s) => s.marginal)), width);
  const bit = (t: number, side: number) =>
    slice(
      bits,
      t * stride + (offsets[side] as number),
      t * stride + (offsets[side] as number) + (counts[side] as number),
    );

  // Per side: q0 = Σ b_t·K_t and F = Σ b_t·L_t = R·m − M·q0, as Σ b_t·(K_t·M + L_t) = R·m (local).
  const quotients: Shared[] = [];
  const remainders: Shared[] = [];
  let compareBits = width + 2;
  sides.forEach((side, k) => {
    const count = counts[k] as number;
    const planes = Array.from({ length: width }, (_, t) => bit(t, k));
    const multiples = planes.map((_, t) =>
      side.marginalWh === 0n ? 0n : (side.sharedWh << BigInt(t)) / side.marginalWh,
    );
    const quotient = linearCombination(count, planes, multiples);
    quotients.push(quotient);
    remainders.push(
      sub(
        mulPublic(side.marginal, BigInt.asUintN(64, side.sharedWh)),
        mulPublic(quotient, BigInt.asUintN(64, side.marginalWh)),
      ),
    );
    compareBits = Math.max(compareBits, bitLength(BigInt(width) * side.marginalWh) + 2);
  });

  // ⌊F/M⌋ < bits: its digits from the top, base 4 (a lone top bit when the bit count is odd), every
  // candidate of a step compared at once — F − (prefix + c·4^d)·M is linear in the partial quotient,
  // which stays shared — so half the steps of a bit per step. The first step also asks [m > 0].
  const quotientBits = bitLength(BigInt(Math.max(width - 1, 1)));
  const prefixes = counts.map((count) => zeros(count));
  let present: Shared[] = [];
  for (let low = quotientBits - (quotientBits % 2 === 1 ? 1 : 2); low >= 0; low -= 2) {
    const first = present.length === 0;
    const candidates = first && quotientBits % 2 === 1 ? [1n] : [1n, 2n, 3n];
    const checks = sides.flatMap((side, k) => {
      const rest = sub(
        remainders[k] as Shared,
        mulPublic(prefixes[k] as Shared, BigInt.asUintN(64, side.marginalWh)),
      );
      return candidates.map((c) =>
        addPublic(party.id, rest, BigInt.asUintN(64, -((c << BigInt(low)) * side.marginalWh))),
      );
    });
    if (first) checks.push(...sides.map((side) => sub(zeros(side.marginal.own.length), side.marginal)));
    const below = await lessThanZero(party, concat(checks), compareBits);
    let at = 0;
    const next = (count: number) => {
      const part = slice(below, at, at + count);
      at += count;
      return part;
    };
    sides.forEach((_, k) => {
      // The digit is how many candidates F reaches: Σ (1 − below).
      const reached = candidates.map(() => oneMinus(party, next(counts[k] as number)));
      prefixes[k] = add(prefixes[k] as Shared, mulPublic(reached.reduce(add), 1n << BigInt(low)));
    });
    if (first) present = counts.map((count) => next(count));
  }

  // Leftover r = R − Σ q, one Wh each to marginal orders while their rank in id order is below r.
  const ranks: Shared[] = [];
  const leftovers: Shared[] = [];
  sides.forEach((side, k) => {
    const count = counts[k] as number;
    const quotient = add(quotients[k] as Shared, prefixes[k] as Shared);
    quotients[k] = quotient;
    ranks.push(exclusivePrefixSums(present[k] as Shared));
    const leftover = sub(publicShared(party.id, new BigUint64Array([side.sharedWh])), total(quotient));
    leftovers.push({
      own: new BigUint64Array(count).fill(leftover.own[0] as bigint),
      next: new BigUint64Array(count).fill(leftover.next[0] as bigint),
    });
  });
  const rankBits = bitLength(BigInt(Math.max(...counts, 1))) + 2;
  const early = await lessThanZero(party, sub(concat(ranks), concat(leftovers)), rankBits);
  const extra = await mul(party, early, concat(present));
  return sides.map((side, k) => {
    const range = [offsets[k] as number, (offsets[k] as number) + (counts[k] as number)] as const;
    return add(add(side.full, quotients[k] as Shared), slice(extra, ...range));
  });
}

/** Σ of the values before each position: local, as sums of shares are shares of the sum. */
function exclusivePrefixSums(x: Shared): Shared {
  const out = zeros(x.own.length);
  for (let i = 1; i < x.own.length; i++) {
    out.own[i] = (out.own[i - 1] as bigint) + (x.own[i - 1] as bigint);
    out.next[i] = (out.next[i - 1] as bigint) + (x.next[i - 1] as bigint);
  }
  return out;
}

function bitLength(value: bigint): number {
  return value <= 0n ? 1 : value.toString(2).length;
}
