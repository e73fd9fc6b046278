/**
 * The plaintext meaning of the search-based auction (research/mpspdz-anchor.md §3.2, the generator's
 * reference): what the MPC program must reproduce; and how a client encodes such a book.
 * @module
 */

/** One order of the anchor workload: integer Wh and a limit on the 16-bit grid. */
export interface GridOrder {
  volumeWh: number;
  limitPrice: number;
}

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

/** The program's inputs: volumes as ring elements; buy limits and sell limits − 1 (17-bit two's complement) as bit words. */
export function encodeBook(
  buys: readonly GridOrder[],
  sells: readonly GridOrder[],
): { inputs: BigUint64Array; bitWords: BigUint64Array } {
  return {
    inputs: new BigUint64Array([...buys, ...sells].map((o) => BigInt(o.volumeWh))),
    bitWords: new BigUint64Array([
      ...buys.map((o) => BigInt(o.limitPrice)),
      ...sells.map((o) => BigInt.asUintN(17, BigInt(o.limitPrice - 1))),
    ]),
  };
}
