/**
 * A deliberately naive clearing written line by line from spec/market.md stage 2, as an oracle: it
 * evaluates D, S and V at every price of the whole 16-bit grid and rations in bigint.
 * @module
 */
import type { ClearRequest } from "../../src/market/types.ts";

export interface NaiveClearing {
  clearingPrice: number | null;
  volumeWh: number;
  fills: number[];
}

export function naiveClear(book: ClearRequest): NaiveClearing {
  const grid = 65_536;
  const demand = new Array<number>(grid).fill(0);
  const supply = new Array<number>(grid).fill(0);
  for (let p = 0; p < grid; p++) {
    for (const order of book.orders) {
      if (order.side === "buy" && order.limitPrice >= p) demand[p] = (demand[p] as number) + order.volumeWh;
      if (order.side === "sell" && order.limitPrice <= p) supply[p] = (supply[p] as number) + order.volumeWh;
    }
  }
  const tradable = demand.map((d, p) => Math.min(d, supply[p] as number));
  const best = Math.max(...tradable);
  if (best === 0) return { clearingPrice: null, volumeWh: 0, fills: book.orders.map(() => 0) };
  const low = tradable.indexOf(best);
  const high = tradable.lastIndexOf(best);
  for (let p = low; p <= high; p++) if (tradable[p] !== best) throw new Error("V* set is not an interval");

  let bm = -1;
  for (let p = 0; p < grid; p++) if ((demand[p] as number) >= best) bm = p;
  let sm = grid;
  for (let p = grid - 1; p >= 0; p--) if ((supply[p] as number) >= best) sm = p;
  const fills = book.orders.map(() => 0);
  for (const side of ["buy", "sell"] as const) {
    const margin = side === "buy" ? bm : sm;
    const beyond = (limit: number): boolean => (side === "buy" ? limit > margin : limit < margin);
    const indices = book.orders.flatMap((order, index) => (order.side === side ? [index] : []));
    let full = 0;
    let marginal = 0;
    for (const index of indices) {
      const order = book.orders[index];
      if (order === undefined) continue;
      if (beyond(order.limitPrice)) {
        fills[index] = order.volumeWh;
        full += order.volumeWh;
      } else if (order.limitPrice === margin) marginal += order.volumeWh;
    }
    const shared = best - full;
    const atMargin = indices.filter((index) => book.orders[index]?.limitPrice === margin);
    let given = 0;
    for (const index of atMargin) {
      const share = Number((BigInt(shared) * BigInt(book.orders[index]?.volumeWh ?? 0)) / BigInt(marginal));
      fills[index] = share;
      given += share;
    }
    const byId = [...atMargin].sort((a, b) =>
      (book.orders[a]?.id ?? "") < (book.orders[b]?.id ?? "") ? -1 : 1,
    );
    for (const index of byId.slice(0, shared - given)) fills[index] = (fills[index] as number) + 1;
  }
  return { clearingPrice: Math.floor((low + high) / 2), volumeWh: best, fills };
}
