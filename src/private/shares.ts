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

/**
 * The rows of the entries at `positions` out of column-major values over `n` entries (column k at
 * k·n, as many columns as the values hold): each row is its entry's value in every column, in order.
 */
export function rowsAt(columns: Shared, n: number, positions: readonly number[]): Shared {
  const width = n === 0 ? 0 : columns.own.length / n;
  const rows = {
    own: new BigUint64Array(width * positions.length),
    next: new BigUint64Array(width * positions.length),
  };
  positions.forEach((h, row) => {
    for (let k = 0; k < width; k++)
      for (const part of ["own", "next"] as const)
        rows[part][row * width + k] = columns[part][k * n + h] as bigint;
  });
  return rows;
}
