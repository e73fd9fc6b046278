/**
 * The client side of private clearing: encode a slot's orders for the nodes' `clear` program and
 * turn its answer back into the `snippet clear` result (what `snippet clear --engine mpc` runs; a
 * household's client encodes only its own order the same way).
 * @module
 */
import { compareIds } from "../../market/auction.ts";
import type { ClearRequest, ClearResult, Fill, Order, ZoneOutcome } from "../../market/types.ts";
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

/** Encodes a request for the `clear` program. The request must have passed `parseClearRequest`. */
export function prepareClear(request: ClearRequest): PreparedClear {
  // The program hands out leftover Wh in the order it gets the orders: ascending id on each side.
  const sideOf = (side: Order["side"]) =>
    request.orders
      .map((order, position) => ({ order, position }))
      .filter(({ order }) => order.side === side)
      .sort((a, b) => compareIds(a.order.id, b.order.id));
  const buys = sideOf("buy");
  const sells = sideOf("sell");
  const placed = [...buys, ...sells];
  const { inputs, bitWords } = encodeBook(
    buys.map(({ order }) => order),
    sells.map(({ order }) => order),
  );
  // Zones go in id order, which breaks the program's ties; the result lists them as the input does.
  const zones = request.zones
    ?.map((zone, position) => ({ zone, position }))
    .sort((a, b) => compareIds(a.zone.id, b.zone.id));
  const zoneIndex = new Map(zones?.map(({ zone }, index) => [zone.id, index]));
  const countUpTo = (side: typeof buys, id: string) =>
    side.filter(({ order }) => compareIds(order.id, id) <= 0).length;
  return {
    params: {
      buys: buys.length,
      sells: sells.length,
      feedIn: request.prices.feedIn,
      retail: request.prices.retail,
      caps: placed.map(({ order }) => order.connectionCapWh ?? null),
      ...(zones === undefined
        ? {}
        : {
            zones: zones.map(({ zone }) => ({
              exportLimitWh: zone.exportLimitWh,
              importLimitWh: zone.importLimitWh,
              buysBefore: countUpTo(buys, zone.id),
              sellsBefore: countUpTo(sells, zone.id),
            })),
            orderZones: placed.map(({ order }) => zoneIndex.get(order.zone as string) as number),
          }),
    },
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
      if (zones === undefined || published.zones === undefined) return result;
      const outcomes = new Array<ZoneOutcome>(zones.length);
      zones.forEach(({ zone, position }, index) => {
        const outcome = published.zones?.[index];
        outcomes[position] = {
          id: zone.id,
          clearingPrice: outcome?.clearingPrice ?? null,
          netExportWh: Number(outcome?.netExportWh ?? 0),
        };
      });
      return { ...result, zones: outcomes };
    },
  };
}
