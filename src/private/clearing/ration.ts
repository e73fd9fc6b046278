/**
 * Exact marginal rationing (spec/market.md) on shares: each marginal order gets ⌊R·m/M⌋ of the
 * shared volume R (`floorScaled`), then the Wh left over go one each to the first marginal orders in
 * ascending id order. R and M are public (the spec allows them); m, the quotients and the leftover
 * stay secret.
 * @module
 */
import { add, concat, mul, publicShared, type Shared, slice, sub } from "../../mpc/arithmetic.ts";
import { lessThanZero } from "../../mpc/compare.ts";
import { bitLength, floorScaled } from "../../mpc/divide.ts";
import type { Party } from "../../mpc/party.ts";
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
  const { quotients, positive: present } = await floorScaled(
    party,
    sides.map((side) => ({ values: side.marginal, numerator: side.sharedWh, denominator: side.marginalWh })),
    volumeBits,
    true,
  );

  // Leftover r = R − Σ q, one Wh each to marginal orders while their rank in id order is below r.
  const ranks: Shared[] = [];
  const leftovers: Shared[] = [];
  sides.forEach((side, k) => {
    const count = counts[k] as number;
    const quotient = quotients[k] as Shared;
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
