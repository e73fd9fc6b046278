/**
 * The client side of private billing: encode billing slots for the nodes' `bill` program (in runs
 * that fit one request), and turn its answer back into slot bills, so that `snippet bill --engine mpc` prints what the reference
 * prints. A household's own device encodes only its own column entries the same way.
 * @module
 */
import {
  type BillingModel,
  type BillingSlot,
  commitmentParts,
  DeviationPool,
  deviationPrice,
  estimatedReading,
  type HouseholdSlot,
  type HouseholdSlotBill,
  type SlotBilling,
  screenReadings,
} from "../../billing/index.ts";
import { cost, type Money } from "../../units/index.ts";
import { BILL_FIELDS, BILL_OUTPUTS, MAX_HOUSEHOLD_SLOTS } from "./layout.ts";
import type { BillParams, BillPublic } from "./program.ts";

/** Slots encoded for the `bill` program, and how to read its answer. */
export interface PreparedBill {
  readonly params: BillParams;
  readonly inputs: BigUint64Array;
  /** The slot bills from what the nodes published and the household-slots' outputs. */
  finish(published: BillPublic, outputs: BigUint64Array): SlotBilling[];
}

/**
 * Encodes `slots` (validated, see parseBillRequest) for one run of the `bill` program. The client
 * holds the readings and screens them itself: an implausible one goes in as its estimate. `metered`:
 * the nodes take the readings their meters sent them, screened at the metering's close; the
 * client's readings are then the estimates that stand for meters that did not report or were
 * refused, and the nodes keep the bills for the households.
 */
export function prepareBill(
  slots: readonly BillingSlot[],
  model: BillingModel,
  options: { metered?: boolean } = {},
): PreparedBill {
  const metered = options.metered === true;
  const n = slots.reduce((sum, slot) => sum + slot.households.length, 0);
  const inputs = new BigUint64Array(BILL_FIELDS.length * n);
  // Each slot with its readings as billed: the client refuses an implausible one itself.
  const screened = slots.map((slot) => ({ ...slot, ...screenReadings(slot.households) }));
  let at = 0;
  const params: BillParams = {
    model,
    slots: screened.map((slot) => {
      const defaultPrice = slot.clearingPrice ?? 0;
      const zonePrices: [number, number][] = [];
      slot.households.forEach((household, index) => {
        householdWords(household, metered).forEach((word, field) => {
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
    ...(metered
      ? { metered: slots.map((slot) => ({ slot: slot.slot, households: slot.households.map((h) => h.id) })) }
      : {}),
  };
  return {
    params,
    inputs,
    finish(published, outputs) {
      const column = (name: (typeof BILL_OUTPUTS)[number], i: number): number =>
        Number(BigInt.asIntN(64, outputs[BILL_OUTPUTS.indexOf(name) * n + i] as bigint));
      let i = 0;
      return screened.map((slot, t): SlotBilling => {
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
          // Unless they keep the period's bills, the nodes leave the household's share of the pool to
          // its recipients (see program.ts).
          const deviationWh = column("deviationWh", i);
          const share = metered ? 0 : pool.shareOf(deviationWh);
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
          // From the meters' readings, the nodes refused them; from the client's, the client did.
          implausible: metered ? (published.implausible?.[t] ?? []) : slot.implausible,
        };
      });
    },
  };
}

/** A household's input words, in BILL_FIELDS order; its estimated reading when the nodes hold its meter's. */
function householdWords(household: HouseholdSlot, metered: boolean): number[] {
  const reading = metered ? estimatedReading(household.committed) : household.metered;
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
    reading.importWh,
    reading.exportWh,
  ];
}

/** One slot's household bills (BILL_OUTPUTS words each, in the slot's order) as the outputs {@link PreparedBill.finish} reads. */
export function billOutputsOf(rows: readonly BigUint64Array[]): BigUint64Array {
  const n = rows.length;
  const outputs = new BigUint64Array(BILL_OUTPUTS.length * n);
  rows.forEach((row, h) => {
    row.forEach((word, k) => {
      outputs[k * n + h] = word;
    });
  });
  return outputs;
}

/** Consecutive slots in runs of at most MAX_HOUSEHOLD_SLOTS household-slots. */
export function batches(slots: readonly BillingSlot[]): BillingSlot[][] {
  const runs: BillingSlot[][] = [];
  let current: BillingSlot[] = [];
  let size = 0;
  for (const slot of slots) {
    if (current.length > 0 && size + slot.households.length > MAX_HOUSEHOLD_SLOTS) {
      runs.push(current);
      current = [];
      size = 0;
    }
    current.push(slot);
    size += slot.households.length;
  }
  if (current.length > 0) runs.push(current);
  return runs;
}
