/**
 * Validation of the `snippet bill` input at the boundary: every field typed and bounded, and the
 * checks that span fields (tariff order, a clearing price for community volume, unique ids).
 * @module
 */
import { z } from "zod";
import { MAX_ENERGY_WH } from "../units/index.ts";
import {
  energyField,
  idField,
  parseWith,
  priceField,
  sideField,
  slotTimeField,
  versionField,
} from "../validation/index.ts";
import type { BillRequest, HouseholdSlot } from "./types.ts";
import { committedTotals } from "./ucs.ts";

const bilateralSchema = z.strictObject({
  partner: idField,
  side: sideField,
  volumeWh: energyField,
  price: priceField,
});

const householdSchema = z.strictObject({
  id: idField,
  committed: z.strictObject({
    communityBuyWh: energyField,
    communitySellWh: energyField,
    communityPrice: priceField.optional(),
    bilateral: z.array(bilateralSchema, { error: () => "is not a list of bilateral trades" }),
    supplierBuyWh: energyField,
    supplierSellWh: energyField,
  }),
  metered: z.strictObject({ importWh: energyField, exportWh: energyField }),
  /** What the connection can physically carry in the slot, Wh: a reading above it is billed as missing. */
  physicalCapacityWh: energyField.optional(),
});

const slotSchema = z.strictObject({
  slot: slotTimeField,
  prices: z.strictObject({ feedIn: priceField, retail: priceField, networkFee: priceField }),
  clearingPrice: priceField.nullable(),
  households: z.array(householdSchema, { error: () => "is not a list of households" }),
});

const billRequestSchema = z
  .strictObject({
    version: versionField,
    slots: z.array(slotSchema, { error: () => "is not a list of slots" }),
  })
  .superRefine((request, context) => {
    const slotTimes = new Set<string>();
    request.slots.forEach((slot, s) => {
      const at = (...path: (string | number)[]): (string | number)[] => ["slots", s, ...path];
      const issue = (path: (string | number)[], message: string): void => {
        context.addIssue({ code: "custom", path, message });
      };
      if (slotTimes.has(slot.slot)) issue(at("slot"), `"${slot.slot}" is a duplicate slot`);
      slotTimes.add(slot.slot);
      const { feedIn, retail } = slot.prices;
      if (feedIn > retail) issue(at("prices", "feedIn"), `${feedIn} is above the retail price ${retail}`);
      const p = slot.clearingPrice;
      if (p !== null && (p < feedIn || p > retail)) {
        issue(at("clearingPrice"), `${p} is outside the slot's tariffs [${feedIn}, ${retail}]`);
      }
      const ids = new Set<string>();
      slot.households.forEach((household, h) => {
        if (ids.has(household.id))
          issue(at("households", h, "id"), `"${household.id}" is a duplicate household id`);
        ids.add(household.id);
        // The bound that keeps every slot bill a safe integer (units SlotMoney).
        const committed = committedTotals(household as HouseholdSlot);
        const movedWh =
          committed.importWh + committed.exportWh + household.metered.importWh + household.metered.exportWh;
        if (movedWh > MAX_ENERGY_WH) {
          issue(
            at("households", h),
            `commits and meters ${movedWh} Wh in one slot, above the maximum of ${MAX_ENERGY_WH} Wh`,
          );
        }
        const ownPrice = household.committed.communityPrice;
        if (ownPrice !== undefined && (ownPrice < feedIn || ownPrice > retail)) {
          issue(
            at("households", h, "committed", "communityPrice"),
            `${ownPrice} is outside the slot's tariffs [${feedIn}, ${retail}]`,
          );
        }
        if (p !== null || ownPrice !== undefined) return;
        for (const field of ["communityBuyWh", "communitySellWh"] as const) {
          const volume = household.committed[field];
          if (volume > 0) {
            issue(
              at("households", h, "committed", field),
              `${volume} but the slot has no clearing price (null)`,
            );
          }
        }
      });
    });
  });

/**
 * Parses a `snippet bill` input, all or nothing.
 * @throws {@link ValidationError} naming the JSON path and the bound of every problem.
 */
export function parseBillRequest(value: unknown): BillRequest {
  return parseWith(billRequestSchema, value) as BillRequest;
}
