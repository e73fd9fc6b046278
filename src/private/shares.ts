/**
 * Local moves of shared values by public positions, which the market's programs share.
 * @module
 */
import type { Shared } from "../mpc/arithmetic.ts";

/** The values at the given positions, in that order. */
export function gather(x: Shared, positions: readonly number[]): Shared {
  return {
    own: BigUint64Array.from(positions, (h) => x.own[h] as bigint),
    next: BigUint64Array.from(positions, (h) => x.next[h] as bigint),
  };
}
