/**
 * The plaintext meaning of the search-based auction (research/mpspdz-anchor.md §3.2, the generator's
 * reference): what the MPC program must reproduce.
 * @module
 */

import type { GridOrder } from "../../src/private/clearing/encode.ts";

export { encodeBook, type GridOrder } from "../../src/private/clearing/encode.ts";

/** p* = max{c : D(c) ≥ S(c)} by the same MSB-first search, and the fills of the strictly better orders. */
export function searchReference(
  buys: readonly GridOrder[],
  sells: readonly GridOrder[],
): { clearingPrice: number; buyFillsWh: number[]; sellFillsWh: number[] } {
  const demand = (c: number) => buys.reduce((sum, o) => sum + (o.limitPrice >= c ? o.volumeWh : 0), 0);
  const supply = (c: number) => sells.reduce((sum, o) => sum + (o.limitPrice <= c ? o.volumeWh : 0), 0);
  let price = 0;
  for (let bit = 15; bit >= 0; bit--) {
    const candidate = price + 2 ** bit;
    if (demand(candidate) >= supply(candidate)) price = candidate;
  }
  return {
    clearingPrice: price,
    buyFillsWh: buys.map((o) => (o.limitPrice > price ? o.volumeWh : 0)),
    sellFillsWh: sells.map((o) => (o.limitPrice < price ? o.volumeWh : 0)),
  };
}

/** An order of `volumeWh` at `limitPrice`, for test tables. */
export const gridOrder = (volumeWh: number, limitPrice: number): GridOrder => ({ volumeWh, limitPrice });
