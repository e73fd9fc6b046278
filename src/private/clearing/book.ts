/**
 * An order book on shares, and the bitwise recurrence the price searches run on it.
 *
 * Volumes are ring elements; limits arrive as bit words shared by XOR (buy limits as 16-bit words,
 * sell limits as q − 1 in 17-bit two's complement, so that q = 0 fits) and are injected into the
 * ring once. A search over the 16-bit grid then keeps, per order, its volume split by how its limit
 * compares with the prefix found so far: `equal` = v·[top bits = prefix], `above` = v·[top bits > prefix].
 * At the candidate c = prefix‖1‖0…, the volume with limit ≥ c is Σ above + Σ equal·b_t: one
 * multiplication per order and step, no comparison.
 * @module
 */
import {
  add,
  concat,
  mul,
  mulPairs,
  mulPublic,
  publicShared,
  type Shared,
  slice,
  sub,
} from "../../mpc/arithmetic.ts";
import { bitslice, wordsFor } from "../../mpc/binary.ts";
import { bitInjection } from "../../mpc/convert.ts";
import type { Party } from "../../mpc/party.ts";
import { concatWords } from "../../mpc/words.ts";

/** Bits of the price grid. */
export const PRICE_BITS = 16;
/** Sell limits enter as q − 1 in 17-bit two's complement. */
export const SELL_PRICE_BITS = PRICE_BITS + 1;

/** One side of the book: volumes, and limit bit t of order i at t·stride + i, as 0/1 ring elements. */
export interface SharedSide {
  readonly count: number;
  readonly volumes: Shared;
  readonly bits: Shared;
  readonly stride: number;
}

/** Shared input words of a book: buy volumes, sell volumes, buy limit words, sell (limit − 1) words. */
export function bookInputWords(buys: number, sells: number): number {
  return 2 * (buys + sells);
}

/** Takes a book from a job's inputs and injects the limit bits into the ring (three rounds). */
export async function loadBook(
  party: Party,
  inputs: Shared,
  buys: number,
  sells: number,
): Promise<{ buy: SharedSide; sell: SharedSide }> {
  const buyWords = slice(inputs, buys + sells, 2 * buys + sells);
  const sellWords = slice(inputs, 2 * buys + sells, 2 * buys + 2 * sells);
  const buyStride = 64 * wordsFor(buys);
  const sellStride = 64 * wordsFor(sells);
  const planes = {
    own: concatWords([bitslice(buyWords.own, PRICE_BITS), bitslice(sellWords.own, SELL_PRICE_BITS)]),
    next: concatWords([bitslice(buyWords.next, PRICE_BITS), bitslice(sellWords.next, SELL_PRICE_BITS)]),
  };
  const bits = await bitInjection(party, planes, PRICE_BITS * buyStride + SELL_PRICE_BITS * sellStride);
  return {
    buy: {
      count: buys,
      volumes: slice(inputs, 0, buys),
      bits: slice(bits, 0, PRICE_BITS * buyStride),
      stride: buyStride,
    },
    sell: {
      count: sells,
      volumes: slice(inputs, buys, buys + sells),
      bits: slice(bits, PRICE_BITS * buyStride, bits.own.length),
      stride: sellStride,
    },
  };
}

/** Bit t of every order's limit. */
export function bitPlane(side: SharedSide, t: number): Shared {
  return slice(side.bits, t * side.stride, t * side.stride + side.count);
}

/** The sells' q − 1 as a ring element: Σ_{t<16} 2^t·c_t − 2^16·c_16, linear, so local. */
export function sellLimitLessOne(side: SharedSide): Shared {
  let value = zeros(side.count);
  for (let t = 0; t < SELL_PRICE_BITS; t++) {
    const weight = t === PRICE_BITS ? -(1n << BigInt(t)) : 1n << BigInt(t);
    value = add(value, mulPublic(bitPlane(side, t), BigInt.asUintN(64, weight)));
  }
  return value;
}

/** Where a search stands on one side: volume split by limit against the prefix. */
export interface SideState {
  /** v·[top bits of the limit = prefix]. */
  equal: Shared;
  /** v·[top bits of the limit > prefix]. */
  above: Shared;
}

/** The start of a search: every order's top bits (none yet) equal the empty prefix. */
export function startState(volumes: Shared): SideState {
  return { equal: volumes, above: zeros(volumes.own.length) };
}

/** equal·b_t for several sides in one multiplication round: the volume at the candidate's bit. */
export async function stepHits(
  party: Party,
  steps: readonly { state: SideState; bit: Shared }[],
): Promise<Shared[]> {
  return mulPairs(
    party,
    steps.map((s) => s.state.equal),
    steps.map((s) => s.bit),
  );
}

/**
 * Moves a state past bit t once its outcome is public: when the candidate was taken (bit t of the
 * answer is 1), the orders with bit t set stay equal; otherwise they move above.
 */
export function advance(state: SideState, hit: Shared, taken: boolean): SideState {
  return taken
    ? { equal: hit, above: state.above }
    : { equal: sub(state.equal, hit), above: add(state.above, hit) };
}

/** Volume at limits ≥ the candidate: Σ above + Σ hit, a shared scalar. */
export function volumeAtOrAbove(state: SideState, hit: Shared): Shared {
  return add(total(state.above), total(hit));
}

/** The sum of a shared vector, as a shared scalar: local. Accumulates in a word array, so V8 stays native. */
export function total(x: Shared): Shared {
  const sum = { own: new BigUint64Array(1), next: new BigUint64Array(1) };
  for (let i = 0; i < x.own.length; i++) {
    sum.own[0] = (sum.own[0] as bigint) + (x.own[i] as bigint);
    sum.next[0] = (sum.next[0] as bigint) + (x.next[i] as bigint);
  }
  return sum;
}

/** Shares of n zeros. */
export function zeros(n: number): Shared {
  return { own: new BigUint64Array(n), next: new BigUint64Array(n) };
}

/** Bits for a signed difference of volume sums: |Σ − Σ| ≤ count·2^volumeBits, plus the sign. */
export function differenceBits(volumeBits: number, count: number): number {
  return Math.min(64, volumeBits + Math.ceil(Math.log2(count + 1)) + 2);
}

/** The word a limit enters the book as: a buy's limit, a sell's q − 1 in 17-bit two's complement. */
export function limitWord(side: "buy" | "sell", limitPrice: number): bigint {
  return side === "buy" ? BigInt(limitPrice) : BigInt.asUintN(SELL_PRICE_BITS, BigInt(limitPrice - 1));
}

/** An order the nodes know in the clear: a zone's flow in market splitting, its limit as {@link limitWord}. */
export interface PublicOrder {
  readonly volumeWh: bigint;
  readonly limitWord: bigint;
}

/**
 * A side made of some of `side`'s orders (by position, with their volumes taken from `volumes`,
 * aligned with `side`) and public orders, in the order given: public values enter as component 0
 * of their sharing, which party 0 holds as `own` and party 2 as `next`.
 */
export function assembleSide(
  party: Party,
  side: SharedSide,
  entries: readonly (number | PublicOrder)[],
  volumes: Shared = side.volumes,
): SharedSide {
  const stride = 64 * wordsFor(entries.length);
  const planes = side.bits.own.length / side.stride;
  const bits = zeros(planes * stride);
  const picked = zeros(entries.length);
  const publicComponent = party.id === 0 ? "own" : party.id === 2 ? "next" : null;
  entries.forEach((entry, to) => {
    if (typeof entry === "number") {
      picked.own[to] = volumes.own[entry] as bigint;
      picked.next[to] = volumes.next[entry] as bigint;
      for (let t = 0; t < planes; t++) {
        bits.own[t * stride + to] = side.bits.own[t * side.stride + entry] as bigint;
        bits.next[t * stride + to] = side.bits.next[t * side.stride + entry] as bigint;
      }
    } else if (publicComponent !== null) {
      picked[publicComponent][to] = entry.volumeWh;
      for (let t = 0; t < planes; t++)
        bits[publicComponent][t * stride + to] = (entry.limitWord >> BigInt(t)) & 1n;
    }
  });
  return { count: entries.length, volumes: picked, bits, stride };
}

/** Each order's limit as a ring element: Σ 2^t·b_t for buys, (q − 1) + 1 for sells. */
export function limitValues(side: SharedSide, isSell: boolean, party: Party): Shared {
  if (isSell)
    return add(sellLimitLessOne(side), publicShared(party.id, new BigUint64Array(side.count).fill(1n)));
  let value = zeros(side.count);
  for (let t = 0; t < PRICE_BITS; t++) value = add(value, mulPublic(bitPlane(side, t), 1n << BigInt(t)));
  return value;
}

/** Digits of the price grid in radix 4: two bits each, eight of them. */
export const PRICE_DIGITS = PRICE_BITS / 2;

/** hi·lo for every base-4 digit of every order's limit, digit j at j·count: one multiplication round for a whole book. */
export async function digitProducts(party: Party, sides: readonly SharedSide[]): Promise<Shared[]> {
  const highs: Shared[] = [];
  const lows: Shared[] = [];
  for (const side of sides) {
    for (let j = 0; j < PRICE_DIGITS; j++) {
      highs.push(bitPlane(side, 2 * j + 1));
      lows.push(bitPlane(side, 2 * j));
    }
  }
  const products = await mul(party, concat(highs), concat(lows));
  let at = 0;
  return sides.map((side) => {
    const part = slice(products, at, at + PRICE_DIGITS * side.count);
    at += PRICE_DIGITS * side.count;
    return part;
  });
}
