/**
 * The client side of private billing: encode billing slots for the nodes' `bill` program, and turn
 * its answer back into slot bills, so that `snippet bill --engine mpc` prints what the reference
 * prints. A household's own device encodes only its own column entries the same way.
 * @module
 */
import {
  type BillingModel,
  type BillingSlot,
  commitmentParts,
  DeviationPool,
  deviationPrice,
  type HouseholdSlot,
  type HouseholdSlotBill,
  type SlotBilling,
} from "../../billing/index.ts";
import { cost, type Money } from "../../units/index.ts";
import { BILL_FIELDS, BILL_OUTPUTS, type BillParams, type BillPublic } from "./program.ts";

/** Slots encoded for the `bill` program, and how to read its answer. */
export interface PreparedBill {
  readonly params: BillParams;
  readonly inputs: BigUint64Array;
  /** The slot bills from what the nodes published and the household-slots' outputs. */
  finish(published: BillPublic, outputs: BigUint64Array): SlotBilling[];
}

/** Encodes `slots` (validated, see parseBillRequest) for one run of the `bill` program. */
export function prepareBill(slots: readonly BillingSlot[], model: BillingModel): PreparedBill {
  const n = slots.reduce((sum, slot) => sum + slot.households.length, 0);
  const inputs = new BigUint64Array(BILL_FIELDS.length * n);
  let at = 0;
  const params: BillParams = {
    model,
    slots: slots.map((slot) => {
      const defaultPrice = slot.clearingPrice ?? 0;
      const zonePrices: [number, number][] = [];
      slot.households.forEach((household, index) => {
        householdWords(household).forEach((word, field) => {
          inputs[field * n + at] = BigInt.asUintN(64, BigInt(word));
        });
        const own = household.committed.communityPrice;
        if (own !== undefined && own !== defaultPrice) zonePrices.push([index, own]);
        at++;
      });
      return {
        households: slot.households.length,
        feedIn: slot.prices.feedIn,
        retail: slot.prices.retail,
        networkFee: slot.prices.networkFee,
        deviationPrice: deviationPrice(slot),
        communityPrice: defaultPrice,
        zonePrices,
      };
    }),
  };
  return {
    params,
    inputs,
    finish(published, outputs) {
      const column = (name: (typeof BILL_OUTPUTS)[number], i: number): number =>
        Number(BigInt.asIntN(64, outputs[BILL_OUTPUTS.indexOf(name) * n + i] as bigint));
      let i = 0;
      return slots.map((slot, t): SlotBilling => {
        const figures = published.slots[t] as BillPublic["slots"][number];
        const pool = new DeviationPool(
          slot,
          figures.totalDeviationWh,
          figures.sharers,
          figures.sharedWh,
          model,
        );
        let supplierDeviationMoney = 0n;
        const bills = slot.households.map((household): HouseholdSlotBill => {
          // The nodes leave the household's share of the pool to its recipients (see program.ts).
          const deviationWh = column("deviationWh", i);
          const share = pool.shareOf(deviationWh);
          const deviationMoney = column("deviationMoney", i) + share;
          supplierDeviationMoney += BigInt(deviationMoney);
          const bill = {
            id: household.id,
            deviationWh,
            money: column("money", i) + share,
            ...commitmentParts(household, slot),
            deviationMoney,
            plainTariffMoney: column("plainTariffMoney", i),
          };
          i++;
          return bill;
        });
        return {
          slot: slot.slot,
          bills,
          totalDeviationWh: figures.totalDeviationWh,
          supplierDeviationMoney: supplierDeviationMoney as Money,
        };
      });
    },
  };
}

/** A household's input words, in BILL_FIELDS order. */
function householdWords(household: HouseholdSlot): number[] {
  const c = household.committed;
  let bilateralBuyWh = 0;
  let bilateralSellWh = 0;
  let bilateralMoney = 0;
  for (const trade of c.bilateral) {
    if (trade.side === "buy") {
      bilateralBuyWh += trade.volumeWh;
      bilateralMoney += cost(trade.volumeWh, trade.price);
    } else {
      bilateralSellWh += trade.volumeWh;
      bilateralMoney -= cost(trade.volumeWh, trade.price);
    }
  }
  return [
    c.communityBuyWh,
    c.communitySellWh,
    c.supplierBuyWh,
    c.supplierSellWh,
    bilateralBuyWh,
    bilateralSellWh,
    bilateralMoney,
    household.metered.importWh,
    household.metered.exportWh,
  ];
}
