/**
 * The search-based double auction on secret orders, MSB first over the 16-bit price grid: the
 * workload of the MP-SPDZ anchor (research/mpspdz-anchor.md §3.1) with a better algorithm.
 *
 * p* = max{c : D(c) ≥ S(c)} with D(c) = Σ buy volume at limit ≥ c and S(c) = Σ sell volume at limit
 * ≤ c; fills: a buy fully when its limit > p*, a sell fully when its limit < p*.
 *
 * Prices arrive as bit words shared by XOR (every share is a bit pattern, nothing to check) and are
 * injected into the ring once. Then each of the 16 steps costs one multiplication per order, not a
 * comparison: with the orders' state relative to the prefix found so far — eqv = v·[top bits = prefix]
 * and gtv = v·[top bits > prefix] — the demand at c = prefix‖1‖0… is Σ gtv + Σ eqv·b_t, and the
 * opened outcome of D ≥ S updates the state locally.
 * @module
 */
import { add, concat, dotSegments, mul, mulPublic, type Shared, slice, sub } from "../arithmetic.ts";
import { bitslice, wordsFor } from "../binary.ts";
import { lessThanPublic, lessThanZeroOpened } from "../compare.ts";
import { bitInjection } from "../convert.ts";
import type { Party } from "../party.ts";
import { concatWords } from "../words.ts";

/** Bits of the price grid. */
export const PRICE_BITS = 16;
/** Sell limits enter as q − 1 in 17-bit two's complement, so that q = 0 is representable. */
export const SELL_PRICE_BITS = PRICE_BITS + 1;

/** One side of the book on shares: volumes in the ring, limit bits as injected 0/1 ring elements. */
interface SharedSide {
  volumes: Shared;
  /** Bit t of order i at t·stride + i. */
  bits: Shared;
  stride: number;
}

/** The public and secret results of the search. */
export interface PriceSearchResult {
  clearingPrice: number;
  buyFills: Shared;
  sellFills: Shared;
}

/**
 * Runs the search. `inputs`: buy volumes, sell volumes (ring elements), then buy limit words and
 * sell (limit − 1) words shared by XOR. `volumeBits` bounds every volume (as validated upstream).
 */
export async function searchClearingPrice(
  party: Party,
  inputs: Shared,
  buys: number,
  sells: number,
  volumeBits: number,
): Promise<PriceSearchResult> {
  const buyVolumes = slice(inputs, 0, buys);
  const sellVolumes = slice(inputs, buys, buys + sells);
  const buyWords = slice(inputs, buys + sells, 2 * buys + sells);
  const sellWords = slice(inputs, 2 * buys + sells, 2 * buys + 2 * sells);
  const [buy, sell] = await injectLimitBits(party, buyVolumes, buyWords, sellVolumes, sellWords);

  // Sells with q = 0 have q − 1 = −1: all ones, so the recurrence ranks them above every price. Their
  // volume Z is added back to S; their fills come from the final comparison.
  const signs = slice(sell.bits, PRICE_BITS * sell.stride, PRICE_BITS * sell.stride + sells);
  const zeroPriced = await dotSegments(party, sell.volumes, signs, [sells]);
  const supplyBase = add(total(sell.volumes), zeroPriced);
  // |D − S| ≤ max(buys, sells)·2^volumeBits: one bit for the sign.
  const differenceBits = Math.min(64, volumeBits + Math.ceil(Math.log2(Math.max(buys, sells) + 1)) + 2);

  let prefix = 0;
  let buyEqual = buy.volumes;
  let buyAbove = zeros(buys);
  let sellEqual = sell.volumes;
  let sellAbove = zeros(sells);
  for (let t = PRICE_BITS - 1; t >= 0; t--) {
    const stepBits = concat([
      slice(buy.bits, t * buy.stride, t * buy.stride + buys),
      slice(sell.bits, t * sell.stride, t * sell.stride + sells),
    ]);
    const products = await mul(party, concat([buyEqual, sellEqual]), stepBits);
    const buyHit = slice(products, 0, buys);
    const sellHit = slice(products, buys, buys + sells);
    // D(c) = Σ above + Σ equal·b_t;  S(c) = total + Z − Σ above − Σ equal·c_t (sells ≥ c are not supply).
    const demand = add(total(buyAbove), total(buyHit));
    const supply = sub(supplyBase, add(total(sellAbove), total(sellHit)));
    const [short] = await lessThanZeroOpened(party, sub(demand, supply), differenceBits);
    if (short === 0) {
      // D(c) ≥ S(c): c is a candidate; keep the orders whose bit t is set as the equal ones.
      prefix |= 1 << t;
      buyEqual = buyHit;
      sellEqual = sellHit;
    } else {
      buyAbove = add(buyAbove, buyHit);
      buyEqual = sub(buyEqual, buyHit);
      sellAbove = add(sellAbove, sellHit);
      sellEqual = sub(sellEqual, sellHit);
    }
  }

  // A sell fills when q < p*, i.e. q − 1 < p* − 1: one comparison of the injected q − 1 and a product.
  const sellLimitLessOne = composeSigned(sell, sells);
  const below = await lessThanPublic(party, sellLimitLessOne, BigInt(prefix - 1), SELL_PRICE_BITS + 1);
  const sellFills = await mul(party, below, sell.volumes);
  return { clearingPrice: prefix, buyFills: buyAbove, sellFills };
}

/** Bitslices the limit words and injects every bit into the ring in one go (three rounds). */
async function injectLimitBits(
  party: Party,
  buyVolumes: Shared,
  buyWords: Shared,
  sellVolumes: Shared,
  sellWords: Shared,
): Promise<[SharedSide, SharedSide]> {
  const buyStride = 64 * wordsFor(buyWords.own.length);
  const sellStride = 64 * wordsFor(sellWords.own.length);
  const planes = {
    own: concatWords([bitslice(buyWords.own, PRICE_BITS), bitslice(sellWords.own, SELL_PRICE_BITS)]),
    next: concatWords([bitslice(buyWords.next, PRICE_BITS), bitslice(sellWords.next, SELL_PRICE_BITS)]),
  };
  const bits = await bitInjection(party, planes, PRICE_BITS * buyStride + SELL_PRICE_BITS * sellStride);
  return [
    { volumes: buyVolumes, bits: slice(bits, 0, PRICE_BITS * buyStride), stride: buyStride },
    { volumes: sellVolumes, bits: slice(bits, PRICE_BITS * buyStride, bits.own.length), stride: sellStride },
  ];
}

/** q − 1 = Σ_{t<16} 2^t·c_t − 2^16·c_16 from the injected bits: linear, so local. */
function composeSigned(side: SharedSide, count: number): Shared {
  let value: Shared = { own: new BigUint64Array(count), next: new BigUint64Array(count) };
  for (let t = 0; t < SELL_PRICE_BITS; t++) {
    const weight = t === PRICE_BITS ? -(1n << BigInt(t)) : 1n << BigInt(t);
    value = add(
      value,
      mulPublic(slice(side.bits, t * side.stride, t * side.stride + count), BigInt.asUintN(64, weight)),
    );
  }
  return value;
}

/** The sum of a shared vector, as a shared scalar: local. Accumulates in a word array, so V8 stays native. */
function total(x: Shared): Shared {
  const sum = { own: new BigUint64Array(1), next: new BigUint64Array(1) };
  for (let i = 0; i < x.own.length; i++) {
    sum.own[0] = (sum.own[0] as bigint) + (x.own[i] as bigint);
    sum.next[0] = (sum.next[0] as bigint) + (x.next[i] as bigint);
  }
  return sum;
}

function zeros(n: number): Shared {
  return { own: new BigUint64Array(n), next: new BigUint64Array(n) };
}
