/**
 * The client side of private clearing: encode a slot's orders for the nodes' `clear` program and
 * turn its answer back into the `snippet clear` result (what `snippet clear --engine mpc` runs; a
 * household's client encodes only its own order the same way).
 * @module
 */
import { compareIds } from "../../market/auction.ts";
import type { ClearRequest, ClearResult, Fill, Order } from "../../market/types.ts";
import { ValidationError } from "../../validation/index.ts";
import { SELL_PRICE_BITS } from "./book.ts";
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
      ...buys.map((o) => BigInt(o.limitPrice)),
      ...sells.map((o) => BigInt.asUintN(SELL_PRICE_BITS, BigInt(o.limitPrice - 1))),
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

/**
 * Encodes a request for the `clear` program. The request must have passed `parseClearRequest`.
 * Feeder zones are refused for now: market splitting on shares is not built yet.
 */
export function prepareClear(request: ClearRequest): PreparedClear {
  if (request.zones !== undefined) {
    throw new ValidationError([
      { path: "zones", message: "market splitting over feeder zones is not available with --engine mpc yet" },
    ]);
  }
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
  return {
    params: {
      buys: buys.length,
      sells: sells.length,
      feedIn: request.prices.feedIn,
      retail: request.prices.retail,
      caps: placed.map(({ order }) => order.connectionCapWh ?? null),
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
      return {
        version: 1,
        slot: request.slot,
        clearingPrice: published.clearingPrice,
        volumeWh: Number(published.volumeWh),
        fills,
      };
    },
  };
}
