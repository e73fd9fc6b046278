/**
 * The client side of private clearing: encode a slot's orders for the nodes' `clear` program and
 * turn its answer back into the `snippet clear` result (what `snippet clear --engine mpc` runs; a
 * household's client encodes only its own order the same way).
 * @module
 */
import { compareIds } from "../../market/auction.ts";
import type {
  ClearRequest,
  ClearResult,
  Fill,
  Order,
  SlotPrices,
  Zone,
  ZoneOutcome,
} from "../../market/types.ts";
import { limitWord } from "./book.ts";
import type { ClearParams, ClearPublic } from "./program.ts";

/** An order as the book encodes it: integer Wh and a limit on the 16-bit grid. */
export interface GridOrder {
  volumeWh: number;
  limitPrice: number;
}

/** The program's inputs: volumes as ring elements; buy limits and sell limits − 1 (17-bit two's complement) as bit words. */
export function encodeBook(
  buys: readonly GridOrder[],
  sells: readonly GridOrder[],
): { inputs: BigUint64Array; bitWords: BigUint64Array } {
  return {
    inputs: new BigUint64Array([...buys, ...sells].map((o) => BigInt(o.volumeWh))),
    bitWords: new BigUint64Array([
      ...buys.map((o) => limitWord("buy", o.limitPrice)),
      ...sells.map((o) => limitWord("sell", o.limitPrice)),
    ]),
  };
}

/** A slot's request as the `clear` program takes it, and how to read the program's answer. */
export interface PreparedClear {
  params: ClearParams;
  inputs: BigUint64Array;
  bitWords: BigUint64Array;
  /** The `snippet clear` result from the public figures and the opened outputs. */
  finish(published: ClearPublic, outputs: BigUint64Array): ClearResult;
}

/** What the nodes know of an order in the clear: who placed it, its side, its zone and the DSO's cap. */
export type OrderTerms = Pick<Order, "id" | "side" | "zone" | "connectionCapWh">;

/** How a slot's orders enter the `clear` program: their order, and the program's public parameters. */
export interface ClearPlan {
  /** Indices of the orders, buys then sells, each side in ascending id order. */
  placed: number[];
  /** Indices of the zones in ascending id order. */
  zoneOrder: number[];
  params: ClearParams;
}

/**
 * Places a slot's orders for the `clear` program from what is public of them: the program hands out
 * leftover Wh in the order it gets the orders, ascending id on each side, and breaks ties between
 * zones by their order, ascending id.
 */
export function planClear(
  orders: readonly OrderTerms[],
  prices: SlotPrices,
  zones?: readonly Zone[],
): ClearPlan {
  const sideOf = (side: Order["side"]) =>
    orders
      .flatMap((order, index) => (order.side === side ? [index] : []))
      .sort((a, b) => compareIds((orders[a] as OrderTerms).id, (orders[b] as OrderTerms).id));
  const [buys, sells] = [sideOf("buy"), sideOf("sell")];
  const placed = [...buys, ...sells];
  const termsOf = (index: number) => orders[index] as OrderTerms;
  const zoneList = zones ?? [];
  const zoneId = (index: number) => (zoneList[index] as Zone).id;
  const zoneOrder = zoneList.map((_, index) => index).sort((a, b) => compareIds(zoneId(a), zoneId(b)));
  const zoneIndex = new Map(zoneOrder.map((z, index) => [zoneId(z), index]));
  const countUpTo = (side: number[], id: string) =>
    side.filter((k) => compareIds(termsOf(k).id, id) <= 0).length;
  return {
    placed,
    zoneOrder,
    params: {
      buys: buys.length,
      sells: sells.length,
      feedIn: prices.feedIn,
      retail: prices.retail,
      // Caps only when the DSO set some: a list of 10^4 nulls costs every node a parse for nothing.
      ...(placed.some((k) => termsOf(k).connectionCapWh !== undefined)
        ? { caps: placed.map((k) => termsOf(k).connectionCapWh ?? null) }
        : {}),
      ...(zones === undefined
        ? {}
        : {
            zones: zoneOrder.map((z) => {
              const zone = zones[z] as Zone;
              return {
                exportLimitWh: zone.exportLimitWh,
                importLimitWh: zone.importLimitWh,
                buysBefore: countUpTo(buys, zone.id),
                sellsBefore: countUpTo(sells, zone.id),
              };
            }),
            orderZones: placed.map((k) => zoneIndex.get(termsOf(k).zone as string) as number),
          }),
    },
  };
}

/** Encodes a request for the `clear` program. The request must have passed `parseClearRequest`. */
export function prepareClear(request: ClearRequest): PreparedClear {
  const plan = planClear(request.orders, request.prices, request.zones);
  const placed = plan.placed.map((position) => ({ order: request.orders[position] as Order, position }));
  const { inputs, bitWords } = encodeBook(
    placed.slice(0, plan.params.buys).map(({ order }) => order),
    placed.slice(plan.params.buys).map(({ order }) => order),
  );
  return {
    params: plan.params,
    inputs,
    bitWords,
    finish(published, outputs) {
      if (published.refused.length > 0) {
        const ids = published.refused.map((k) => placed[k]?.order.id);
        throw new Error(`the nodes refused orders ${ids.join(", ")} that passed validation here`);
      }
      const fills = new Array<Fill>(request.orders.length);
      placed.forEach(({ order, position }, k) => {
        const filledWh = Number(outputs[k]);
        const bound = outputs[placed.length + k] === 1n;
        fills[position] =
          bound && order.connectionCapWh !== undefined
            ? { id: order.id, filledWh, cappedWh: order.connectionCapWh }
            : { id: order.id, filledWh };
      });
      const result: ClearResult = {
        version: 1,
        slot: request.slot,
        clearingPrice: published.clearingPrice,
        volumeWh: Number(published.volumeWh),
        fills,
      };
      if (request.zones === undefined) return result;
      return { ...result, zones: zonesInInputOrder(request.zones, plan.zoneOrder, published) };
    },
  };
}

/** The zones' outcomes the program published (in id order) as the input lists the zones. */
export function zonesInInputOrder(
  zones: readonly Zone[],
  zoneOrder: readonly number[],
  published: ClearPublic,
): ZoneOutcome[] {
  const outcomes = new Array<ZoneOutcome>(zones.length);
  zoneOrder.forEach((position, index) => {
    const outcome = published.zones?.[index];
    outcomes[position] = {
      id: (zones[position] as Zone).id,
      clearingPrice: outcome?.clearingPrice ?? null,
      netExportWh: Number(outcome?.netExportWh ?? 0),
    };
  });
  return outcomes;
}
