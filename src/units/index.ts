/**
 * Integer units of the market core (DESIGN.md "Units"): energy in Wh, prices in 0.01 ct/kWh on a
 * 16-bit grid, money in 1e-7 EUR (= 1 Wh × 1 price unit). Floats appear only in display conversions.
 * @module
 */

declare const unit: unique symbol;
type Branded<T, Name extends string> = T & { readonly [unit]: Name };

/** Energy in watt-hours: a non-negative safe integer. */
export type Wh = Branded<number, "Wh">;
/** Price in price units (0.01 ct/kWh = 1e-4 EUR/kWh), an integer on the grid 0..65535. */
export type PriceUnits = Branded<number, "PriceUnits">;
/** Money in money units (1e-7 EUR), exact at any size: period totals. Positive: owed by its holder. */
export type Money = Branded<bigint, "Money">;
/**
 * Money of one household in one slot, in money units: a safe integer, because validation bounds the
 * energy a household moves in a slot (MAX_ENERGY_WH) and every price to 16 bits, so |amount| < 2^51.
 */
export type SlotMoney = number;

/** Highest price on the 16-bit price grid. */
export const PRICE_GRID_MAX = 65_535;
/**
 * Largest energy any single order, commitment or reading may carry in one slot: 2^32 − 1 Wh
 * (4.3 GWh, far beyond any connection in a community), so that sums over 10^6 of them stay exact
 * in a double and every volume fits 32 bits inside the MPC ring.
 */
export const MAX_ENERGY_WH = 2 ** 32 - 1;

/** Milliseconds in a minute: slot times are epoch milliseconds, slot lengths minutes. */
export const MS_PER_MINUTE = 60_000;

const PRICE_UNITS_PER_EUR_PER_KWH = 10_000;
const MONEY_UNITS_PER_EUR = 10_000_000n;

/** Checks and brands an energy value. @throws RangeError when it is not an integer in 0..MAX_ENERGY_WH. */
export function wh(value: number): Wh {
  if (!Number.isInteger(value) || value < 0 || value > MAX_ENERGY_WH) {
    throw new RangeError(`energy must be an integer in 0..${MAX_ENERGY_WH} Wh, got ${value}`);
  }
  return value as Wh;
}

/** Checks and brands a price. @throws RangeError when it is not an integer on the 16-bit grid. */
export function priceUnits(value: number): PriceUnits {
  if (!Number.isInteger(value) || value < 0 || value > PRICE_GRID_MAX) {
    throw new RangeError(`price must be an integer in 0..${PRICE_GRID_MAX} price units, got ${value}`);
  }
  return value as PriceUnits;
}

/** The money for `energy` at `price`: Wh × price units is exactly money units (exact while energy < 2^37 Wh). */
export function cost(energyWh: number, price: number): SlotMoney {
  return energyWh * price;
}

/**
 * An exact running total of safe-integer amounts: it adds in a double while the sum stays a safe
 * integer (the common case, and fast) and carries into a bigint beyond, so no total ever rounds.
 */
export class ExactTotal {
  private carried = 0n;
  private running = 0;

  add(amount: number): void {
    const sum = this.running + amount;
    if (Number.isSafeInteger(sum)) this.running = sum;
    else {
      this.carried += BigInt(this.running) + BigInt(amount);
      this.running = 0;
    }
  }

  get value(): Money {
    return (this.carried + BigInt(this.running)) as Money;
  }
}

/** The price-grid value of a tariff in EUR/kWh, rounded to the nearest price unit (0.20 → 2000). */
export function priceFromEurPerKwh(eurPerKwh: number): PriceUnits {
  return priceUnits(Math.round(eurPerKwh * PRICE_UNITS_PER_EUR_PER_KWH));
}

/** A price for display, in EUR/kWh (2000 → 0.2). */
export function priceToEurPerKwh(price: number): number {
  return price / PRICE_UNITS_PER_EUR_PER_KWH;
}

/** Energy for display, in kWh (1500 → 1.5). */
export function whToKwh(energy: number): number {
  return energy / 1000;
}

/** Money for display as a decimal EUR string with all seven decimals kept (−9500 → "-0.0009500"). */
export function moneyToEurString(value: bigint | number): string {
  const amount = BigInt(value);
  const sign = amount < 0n ? "-" : "";
  const magnitude = amount < 0n ? -amount : amount;
  const euros = magnitude / MONEY_UNITS_PER_EUR;
  const fraction = (magnitude % MONEY_UNITS_PER_EUR).toString().padStart(7, "0");
  return `${sign}${euros}.${fraction}`;
}

/** Money for JSON (spec/io.md): a number while it is a safe integer, else a decimal string. */
export function moneyToJson(amount: bigint): number | string {
  const asNumber = Number(amount);
  return Number.isSafeInteger(asNumber) ? asNumber : amount.toString();
}

/**
 * floor(a × b × … / divisor) for non-negative safe-integer factors, exact at any size: the double
 * path is exact while the product stays below 2^53 (the quotient of two exact doubles rounds to a
 * value whose floor is the true floor), and bigint takes over beyond. The result must be safe.
 */
export function mulDivFloor(factors: readonly number[], divisor: number): number {
  let product = 1;
  for (const factor of factors) product *= factor;
  if (product <= Number.MAX_SAFE_INTEGER) return Math.floor(product / divisor);
  let exact = 1n;
  for (const factor of factors) exact *= BigInt(factor);
  return Number(exact / BigInt(divisor));
}
