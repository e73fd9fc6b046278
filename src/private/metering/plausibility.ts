/**
 * The nodes' plausibility check of a slot's readings at the metering's close (spec/billing.md,
 * plausible readings): on shares, each meter's importWh and exportWh against what its connection
 * can physically carry in the slot; one bit per meter is opened — implausible or not — and nothing
 * else.
 * @module
 */
import { aboveCapacity } from "../../billing/index.ts";
import { concat, mul, open, publicShared, slice, sub } from "../../mpc/arithmetic.ts";
import { lessThanZero, MAX_COMPARE_BITS, oneMinus } from "../../mpc/compare.ts";
import type { Party } from "../../mpc/party.ts";
import { MAX_ENERGY_WH } from "../../units/index.ts";
import type { Registry } from "../registry.ts";
import type { ReadingColumns } from "./intake.ts";

/**
 * Why the reading of a meter without a registered physical capacity is refused: it is outside the
 * per-slot range every reader of a file enforces, which the nodes, holding only shares, check here
 * instead.
 */
export const OUTSIDE_RANGE = `the reading is outside the per-slot range of 0..${MAX_ENERGY_WH} Wh`;

/**
 * The readings of `readings` that cannot be what flowed, with the reason, in registry order. A
 * meter's bound is what its connection can physically carry (`physicalCapacityWh`), else the
 * per-slot maximum; never the DSO's trading cap, which a household may draw beyond. A meter signs
 * whatever words it likes, and a value billing's bit lengths do not expect would spread into the
 * neighbours' bills through TD.
 */
export async function implausibleReadings(
  party: Party,
  readings: ReadingColumns,
  registry: Registry,
): Promise<Map<string, string>> {
  const meters = [...readings.index.keys()];
  const n = meters.length;
  const refused = new Map<string, string>();
  // The three hold the same meters (the agreed ones), so all skip or none does.
  if (n === 0) return refused;
  const capacities = meters.map((id) => registry.meters.get(id)?.physicalCapacityWh);
  const bounds = BigUint64Array.from([...capacities, ...capacities], (capacityWh) =>
    BigInt(capacityWh ?? MAX_ENERGY_WH),
  );
  const values = concat([readings.importWh, readings.exportWh]);
  // A value is out of range when it is negative as a 64-bit word, or when its bound minus it is:
  // for a value in [0, 2^63) that difference fits the 64 signed bits, so every ring element is judged.
  const outside = await lessThanZero(
    party,
    concat([values, sub(publicShared(party.id, bounds), values)]),
    MAX_COMPARE_BITS,
  );
  // Plausible: none of a meter's four bits set. Their product, two levels deep, is the one bit opened.
  const inside = oneMinus(party, outside);
  const perValue = await mul(party, slice(inside, 0, 2 * n), slice(inside, 2 * n, 4 * n));
  const perMeter = await mul(party, slice(perValue, 0, n), slice(perValue, n, 2 * n));
  const plausible = await open(party, perMeter);
  meters.forEach((id, k) => {
    if (plausible[k] === 1n) return;
    const capacityWh = capacities[k];
    refused.set(id, capacityWh === undefined ? OUTSIDE_RANGE : aboveCapacity(capacityWh));
  });
  return refused;
}
