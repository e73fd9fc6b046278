/**
 * Random community slots for property tests: households with orders and partner lists, run through
 * the three market stages, then metered with random deviations from their commitments.
 * @module
 */
import fc from "fast-check";
import type { BillingSlot } from "../../src/billing/types.ts";
import { clearSlot, type HouseholdIntent, type SlotRequest } from "../../src/market/slot.ts";

const householdIds = ["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"];

/** A random slot request: up to 8 households, some with bilateral partners and donations. */
export function slotRequest(): fc.Arbitrary<SlotRequest> {
  return fc
    .tuple(fc.integer({ min: 100, max: 1500 }), fc.integer({ min: 0, max: 1500 }))
    .chain(([feedIn, spread]) => {
      const prices = { feedIn, retail: feedIn + spread };
      const household = (id: string): fc.Arbitrary<HouseholdIntent> =>
        fc.record({
          id: fc.constant(id),
          side: fc.constantFrom("buy" as const, "sell" as const),
          volumeWh: fc.integer({ min: 1, max: 3000 }),
          limitPrice: fc.integer({ min: prices.feedIn, max: prices.retail }),
          offers: fc.array(
            fc.record({
              partner: fc.constantFrom(...householdIds),
              price: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: prices.retail })),
              capWh: fc.integer({ min: 0, max: 2000 }),
            }),
            { maxLength: 2 },
          ),
          accepts: fc.array(
            fc.record({
              partner: fc.constantFrom(...householdIds),
              capWh: fc.integer({ min: 0, max: 2000 }),
            }),
            { maxLength: 2 },
          ),
          community: fc.constantFrom(true, true, true, false),
          connectionCapWh: fc.integer({ min: 0, max: 4000 }),
        });
      return fc
        .integer({ min: 1, max: householdIds.length })
        .chain((count) => fc.tuple(...householdIds.slice(0, count).map(household)))
        .map((households): SlotRequest => ({ slot: "2026-06-01T12:00:00Z", prices, households }));
    });
}

/** A billing slot made from a cleared random slot, each household metered off its commitment by up to ±deviation Wh. */
export function billingSlot(maxDeviationWh = 500): fc.Arbitrary<BillingSlot> {
  return fc
    .tuple(
      slotRequest(),
      fc.integer({ min: 0, max: 400 }),
      fc.array(fc.integer({ min: -maxDeviationWh, max: maxDeviationWh }), { minLength: 8, maxLength: 8 }),
    )
    .map(([request, networkFee, deviations]) => {
      const outcome = clearSlot(request);
      return {
        slot: request.slot,
        prices: { ...request.prices, networkFee },
        clearingPrice: outcome.community.clearingPrice,
        households: outcome.commitments.map(({ id, cappedWh, committed }, index) => {
          const meteredWh = Math.max(0, cappedWh + (deviations[index] ?? 0));
          const buying = request.households[index]?.side === "buy";
          return {
            id,
            committed,
            metered: buying ? { importWh: meteredWh, exportWh: 0 } : { importWh: 0, exportWh: meteredWh },
          };
        }),
      };
    });
}

/** The worked examples of spec/billing.md: P1, P2 sell 5; C1 buys 6, C2 buys 4; feedIn 200, retail 300, p* 250. */
export function workedExample(metered: Record<string, { importWh: number; exportWh: number }>): BillingSlot {
  const committed = (buyWh: number, sellWh: number) => ({
    communityBuyWh: buyWh,
    communitySellWh: sellWh,
    bilateral: [],
    supplierBuyWh: 0,
    supplierSellWh: 0,
  });
  const plan: Record<string, [number, number]> = { C1: [6, 0], C2: [4, 0], P1: [0, 5], P2: [0, 5] };
  return {
    slot: "2026-06-01T12:00:00Z",
    prices: { feedIn: 200, retail: 300, networkFee: 0 },
    clearingPrice: 250,
    households: Object.entries(plan).map(([id, [buyWh, sellWh]]) => ({
      id,
      committed: committed(buyWh, sellWh),
      metered: metered[id] ?? { importWh: buyWh, exportWh: sellWh },
    })),
  };
}

/**
 * What each household's connection can physically carry per slot, Wh, by household id, or nothing
 * known (no bound): drawn across the range of billingSlot's readings, so that some readings are
 * above their capacity and some are not.
 */
export function physicalCapacities(): fc.Arbitrary<ReadonlyMap<string, number | undefined>> {
  return fc
    .array(fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }), {
      minLength: householdIds.length,
      maxLength: householdIds.length,
    })
    .map((capacities) => new Map(householdIds.map((id, h) => [id, capacities[h]])));
}

/** The slot with each household's physical capacity from `capacities` (none where it has none). */
export function withPhysicalCapacities(
  slot: BillingSlot,
  capacities: ReadonlyMap<string, number | undefined>,
): BillingSlot {
  return {
    ...slot,
    households: slot.households.map((household) => {
      const physicalCapacityWh = capacities.get(household.id);
      return physicalCapacityWh === undefined ? household : { ...household, physicalCapacityWh };
    }),
  };
}
