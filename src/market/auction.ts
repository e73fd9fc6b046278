/**
 * The uniform-price double auction of spec/market.md stage 2, as plaintext reference: clearing price
 * by volume maximisation and midpoint, then fills with exact marginal rationing. O(n log n).
 * @module
 */
import { mulDivFloor } from "../units/index.ts";

/** One order as the auction sees it; `limitPrice` may sit one step off the grid (see {@link BELOW_GRID}). */
export interface AuctionOrder {
  readonly id: string;
  readonly volumeWh: number;
  readonly limitPrice: number;
}

/**
 * Limit of a sell that takes any price, and (with {@link ABOVE_GRID}) of a buy that pays any price:
 * the fixed inter-zone flows of market splitting. Off-grid limits rank before every real order, so
 * the ordinary rationing rule fills them first, and they never move the price search range.
 */
export const BELOW_GRID = -1;
export const ABOVE_GRID = 65_536;

/** The public rationing figures of one side: its marginal price, the volume shared there and the volume asking for it. */
export interface Margin {
  /** `bm` (buy side) or `sm` (sell side). */
  readonly price: number;
  /** `R`: what the marginal orders share. */
  readonly sharedWh: number;
  /** `M`: the total volume of the marginal orders. */
  readonly marginalWh: number;
}

/** The outcome of one auction. Fills are aligned with the input arrays. */
export interface AuctionResult {
  /** `p*`, or null when nothing trades. */
  readonly clearingPrice: number | null;
  /** `V*`: the volume traded, equal on both sides. */
  readonly volumeWh: number;
  readonly buyFillsWh: number[];
  readonly sellFillsWh: number[];
  /** null when nothing trades. */
  readonly buyMargin: Margin | null;
  readonly sellMargin: Margin | null;
}

/** The price range the clearing price is searched in: the slot's `[feedIn, retail]`. */
export interface PriceBand {
  readonly feedIn: number;
  readonly retail: number;
}

/**
 * Clears one uniform-price double auction exactly as spec/market.md stage 2.
 *
 * The clearing price maximises `min(D(p), S(p))` over the band and is the midpoint (floored) of the
 * interval of maximisers; the band equals the whole grid for orders validated into it, and keeps
 * off-grid flow orders from dragging the price outside the tariffs.
 */
export function clearAuction(
  buys: readonly AuctionOrder[],
  sells: readonly AuctionOrder[],
  band: PriceBand,
): AuctionResult {
  const demand = Curve.demand(buys);
  const supply = Curve.supply(sells);
  const best = bestVolumeInterval(demand, supply, band);
  if (best === null) {
    return {
      clearingPrice: null,
      volumeWh: 0,
      buyFillsWh: buys.map(() => 0),
      sellFillsWh: sells.map(() => 0),
      buyMargin: null,
      sellMargin: null,
    };
  }
  const buyMargin = demand.margin(best.volumeWh);
  const sellMargin = supply.margin(best.volumeWh);
  return {
    clearingPrice: Math.floor((best.lowPrice + best.highPrice) / 2),
    volumeWh: best.volumeWh,
    buyFillsWh: fill(buys, buyMargin, (limit) => limit > buyMargin.price),
    sellFillsWh: fill(sells, sellMargin, (limit) => limit < sellMargin.price),
    buyMargin,
    sellMargin,
  };
}

/**
 * One side's cumulative volume over its distinct limit prices, ordered from the most willing price
 * (highest buy, lowest sell) to the least: `cumulativeWh[k]` is the volume of all orders at least as
 * willing as `prices[k]`.
 */
class Curve {
  private constructor(
    readonly prices: number[],
    readonly cumulativeWh: number[],
    /** true for demand: the curve counts orders with limit >= p. */
    readonly descending: boolean,
  ) {}

  static demand(orders: readonly AuctionOrder[]): Curve {
    return Curve.build(orders, true);
  }

  static supply(orders: readonly AuctionOrder[]): Curve {
    return Curve.build(orders, false);
  }

  private static build(orders: readonly AuctionOrder[], descending: boolean): Curve {
    // Sort (price, index) pairs packed into one double each: a native numeric sort, no comparator.
    // Prices lie in −1..65536 (17 bits), so the packed key is an exact integer for any book size.
    const indexRange = 2 ** Math.ceil(Math.log2(orders.length + 1));
    const keys = new Float64Array(orders.length);
    for (let i = 0; i < orders.length; i++)
      keys[i] = ((orders[i] as AuctionOrder).limitPrice + 1) * indexRange + i;
    keys.sort();
    const prices: number[] = [];
    const cumulativeWh: number[] = [];
    let total = 0;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[descending ? keys.length - 1 - k : k] as number;
      const order = orders[key % indexRange] as AuctionOrder;
      total += order.volumeWh;
      if (prices.length > 0 && prices[prices.length - 1] === order.limitPrice)
        cumulativeWh[cumulativeWh.length - 1] = total;
      else {
        prices.push(order.limitPrice);
        cumulativeWh.push(total);
      }
    }
    return new Curve(prices, cumulativeWh, descending);
  }

  /** The volume offered at price `p`: `D(p)` for demand, `S(p)` for supply. */
  at(price: number): number {
    // Binary search for the last level still willing at `price`.
    let lo = 0;
    let hi = this.prices.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const levelPrice = this.prices[mid] as number;
      if (this.descending ? levelPrice >= price : levelPrice <= price) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : (this.cumulativeWh[lo - 1] as number);
  }

  /** The prices at which this curve's value changes: a sell level, or the step just past a buy level. */
  breakpoints(): number[] {
    return this.descending ? this.prices.map((price) => price + 1) : this.prices;
  }

  /**
   * The marginal level for a traded volume: the least willing price whose curve still reaches it
   * (`bm = max{p : D(p) >= V*}`, `sm = min{q : S(q) >= V*}`), and what its orders share.
   */
  margin(volumeWh: number): Margin {
    let level = 0;
    while ((this.cumulativeWh[level] as number) < volumeWh) level++;
    const before = level === 0 ? 0 : (this.cumulativeWh[level - 1] as number);
    return {
      price: this.prices[level] as number,
      sharedWh: volumeWh - before,
      marginalWh: (this.cumulativeWh[level] as number) - before,
    };
  }
}

/** The largest tradable volume `V*` in the band and the interval `[pLo, pHi]` where it is reached; null when it is 0. */
function bestVolumeInterval(
  demand: Curve,
  supply: Curve,
  band: PriceBand,
): { volumeWh: number; lowPrice: number; highPrice: number } | null {
  // V(p) is constant between consecutive breakpoints, so it is enough to evaluate it at each one.
  const inBand = (price: number): boolean => price > band.feedIn && price <= band.retail;
  const starts = [
    band.feedIn,
    ...supply.breakpoints().filter(inBand),
    ...demand.breakpoints().filter(inBand),
  ];
  starts.sort((a, b) => a - b);
  let volumeWh = 0;
  let lowPrice = 0;
  let highPrice = 0;
  for (let k = 0; k < starts.length; k++) {
    const start = starts[k] as number;
    if (k > 0 && start === starts[k - 1]) continue;
    const volume = Math.min(demand.at(start), supply.at(start));
    if (volume === 0 || volume < volumeWh) continue;
    const end = nextStart(starts, k, band.retail + 1) - 1;
    if (volume > volumeWh) {
      volumeWh = volume;
      lowPrice = start;
    }
    highPrice = end;
  }
  return volumeWh === 0 ? null : { volumeWh, lowPrice, highPrice };
}

function nextStart(sortedStarts: readonly number[], index: number, past: number): number {
  for (let k = index + 1; k < sortedStarts.length; k++) {
    const start = sortedStarts[k] as number;
    if (start !== sortedStarts[index]) return start;
  }
  return past;
}

/**
 * Fills one side: orders more willing than the margin get everything, marginal orders share `R` by
 * {@link shareProRata}, the rest get 0.
 */
function fill(
  orders: readonly AuctionOrder[],
  margin: Margin,
  beyondMargin: (limit: number) => boolean,
): number[] {
  const fills = new Array<number>(orders.length);
  const marginal: AuctionOrder[] = [];
  const marginalIndices: number[] = [];
  for (let i = 0; i < orders.length; i++) {
    const order = orders[i] as AuctionOrder;
    fills[i] = beyondMargin(order.limitPrice) ? order.volumeWh : 0;
    if (order.limitPrice === margin.price) {
      marginal.push(order);
      marginalIndices.push(i);
    }
  }
  shareProRata(margin.sharedWh, marginal).forEach((share, k) => {
    fills[marginalIndices[k] as number] = share;
  });
  return fills;
}

/**
 * Shares `sharedWh` among `parts` by the rationing rule of spec/market.md: each gets
 * `floor(shared · v / Σv)`, then the Wh left over go one each to the first parts in ascending id
 * order. A part of volume 0 takes no part, not even in the leftover. `sharedWh` must not exceed Σv.
 */
export function shareProRata(
  sharedWh: number,
  parts: readonly { readonly id: string; readonly volumeWh: number }[],
): number[] {
  let totalWh = 0;
  for (const part of parts) totalWh += part.volumeWh;
  const shares = parts.map((part) => (totalWh === 0 ? 0 : mulDivFloor([sharedWh, part.volumeWh], totalWh)));
  let leftoverWh = sharedWh - shares.reduce((sum, share) => sum + share, 0);
  if (leftoverWh > 0) {
    const byId = parts
      .map((part, index) => ({ part, index }))
      .filter(({ part }) => part.volumeWh > 0)
      .sort((a, b) => compareIds(a.part.id, b.part.id));
    for (const { index } of byId) {
      if (leftoverWh === 0) break;
      shares[index] = (shares[index] as number) + 1;
      leftoverWh--;
    }
  }
  return shares;
}

/** String order of ids (UTF-16 code units), the tie-break of spec/market.md. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
