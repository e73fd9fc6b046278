/**
 * Reference billing benchmark (issue: 5,000 households over one month of 15-min slots, 2,976 slots,
 * <= 10 s): every slot billed with UCS and folded into period statements, as a monthly run does.
 * @module
 */
import { StatementBook } from "../src/billing/period.ts";
import type { BillingModel, BillingSlot, HouseholdSlot } from "../src/billing/types.ts";
import { billSlot } from "../src/billing/ucs.ts";
import { type BenchRow, measure, seededIntegers } from "./support.ts";

const SLOTS_PER_DAY = 96;

/** One day of slots for `households` households: sellers and buyers, bilateral trades, meters off by a little. */
function dayOfSlots(households: number, seed: number): BillingSlot[] {
  const random = seededIntegers(seed);
  const start = Date.parse("2026-06-01T00:00:00Z");
  return Array.from({ length: SLOTS_PER_DAY }, (_, s): BillingSlot => {
    const clearingPrice = random.next(600, 1900);
    return {
      slot: new Date(start + s * 900_000).toISOString(),
      prices: { feedIn: 500, retail: 2000, networkFee: 150 },
      clearingPrice,
      households: Array.from({ length: households }, (_, h): HouseholdSlot => {
        const selling = h % 5 < 2 && s >= 32 && s < 72; // prosumers export around midday
        const volumeWh = random.next(50, 1500);
        const communityWh = random.next(0, volumeWh);
        const bilateralWh = h % 10 === 0 ? random.next(0, volumeWh - communityWh) : 0;
        const supplierWh = volumeWh - communityWh - bilateralWh;
        const meteredWh = Math.max(0, volumeWh + random.next(-80, 80));
        const partner = `h${(h + 1) % households}`;
        const side = selling ? ("sell" as const) : ("buy" as const);
        return {
          id: `h${h}`,
          committed: {
            communityBuyWh: selling ? 0 : communityWh,
            communitySellWh: selling ? communityWh : 0,
            bilateral:
              bilateralWh > 0 ? [{ partner, side, volumeWh: bilateralWh, price: random.next(0, 1500) }] : [],
            supplierBuyWh: selling ? 0 : supplierWh,
            supplierSellWh: selling ? supplierWh : 0,
          },
          metered: selling ? { importWh: 0, exportWh: meteredWh } : { importWh: meteredWh, exportWh: 0 },
        };
      }),
    };
  });
}

/** Bills `slotCount` slots (the day repeated) into period statements; returns the statements. */
function billMonth(day: readonly BillingSlot[], slotCount: number, model: BillingModel): StatementBook {
  const book = new StatementBook();
  for (let s = 0; s < slotCount; s++) {
    const slot = day[s % day.length] as BillingSlot;
    book.add(slot, billSlot(slot, model));
  }
  return book;
}

export function billingBenchmarks(): BenchRow[] {
  const households = 5_000;
  const slots = 2_976;
  const day = dayOfSlots(households, 2976);
  return (["ucs-uniform", "ucs-proportional"] as const).map((model) => {
    const timing = measure(() => billMonth(day, slots, model), 3, 0);
    return {
      name: `reference billing (${model})`,
      size: `${households} households x ${slots} slots`,
      ...timing,
      targetMs: 10_000,
      note: "slot bills + monthly statements",
    };
  });
}
