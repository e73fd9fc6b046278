/**
 * The `bill` program (seed step 5): Universal Cost Split billing of spec/billing.md on shares. For
 * every household and slot the nodes get shares of its commitments and its meter reading; they open
 * only what the split needs per slot — the net deviation TD, how many households share the pool
 * and, for the proportional split, the sum of their deviations — and return each household's bill
 * as shares, for the household and its supplier alone.
 *
 * Per household and slot (all slots of a request at once, so rounds do not grow with the period):
 *   b = community + supplier + bilateral buys, s = the same sells, d = (exp − s) − (imp − b)
 *   c = [b + s > 0] (a household without commitments pays the plain tariff), d' = c·d, TD = Σ d'
 *   on the side that caused TD, [sign(TD)·d' > 0]: their count N, or their Σ|d'|, opened
 *   money = plain + c·(commitments − DP·d' − plain)
 *
 * A household's share of the pool (TD's cost, equal or by |d'|) is not computed here: it is a public
 * function of the household's own d' — an output its recipients get anyway — and of TD and N or
 * Σ|d'| (`DeviationPool.shareOf`), so the recipient adds it to `money` and `deviationMoney` on
 * opening. That leaks nothing more and spares the nodes a secret division.
 * @module
 */
import { z } from "zod";
import { BILLING_MODELS, type BillingModel } from "../../billing/types.ts";
import { integerField, oneOfField, priceField } from "../../validation/index.ts";
import { add, concat, mul, mulPublic, open, type Shared, slice, sub } from "../arithmetic.ts";
import { equalsZero, lessThanZero, oneMinus } from "../compare.ts";
import type { Party } from "../party.ts";
import type { Program } from "../programs.ts";

/** The input words of one household in one slot, in this order; each column holds all household-slots. */
export const BILL_FIELDS = [
  "communityBuyWh",
  "communitySellWh",
  "supplierBuyWh",
  "supplierSellWh",
  "bilateralBuyWh",
  "bilateralSellWh",
  /** Σ bilateral buys × price − sells × price, money units: the household's own agreements. */
  "bilateralMoney",
  "importWh",
  "exportWh",
] as const;

/** The output words of one household in one slot, in this order (columns, as the inputs). */
export const BILL_OUTPUTS = ["money", "deviationWh", "deviationMoney", "plainTariffMoney"] as const;

/**
 * Bits of a household's committed total and deviation: six committed volumes and two readings of at
 * most 2^32 − 1 Wh each (spec/io.md) stay below 2^35; one more for the sign.
 */
const DEVIATION_BITS = 36;
/** Household-slots of one run: its inputs stay within a request's bound of 4·10^6 words. */
export const MAX_HOUSEHOLD_SLOTS = Math.floor(4_000_000 / BILL_FIELDS.length);
const MAX_SLOTS = 100_000;
const countField = integerField(0, MAX_HOUSEHOLD_SLOTS, "not a count", `above ${MAX_HOUSEHOLD_SLOTS}`);

const slotSchema = z.strictObject({
  households: countField,
  feedIn: priceField,
  retail: priceField,
  networkFee: priceField,
  /** DP: the clearing price, or the middle of the tariffs when the slot had no community trade. */
  deviationPrice: priceField,
  /** The community price of the slot's households, and [household index, price] for split-off zones. */
  communityPrice: priceField,
  zonePrices: z.array(z.tuple([countField, priceField])).max(MAX_HOUSEHOLD_SLOTS),
});

export const billParamsSchema = z
  .strictObject({
    model: oneOfField(BILLING_MODELS as unknown as readonly [BillingModel, ...BillingModel[]]),
    slots: z
      .array(slotSchema)
      .min(1, { error: () => "is empty" })
      .max(MAX_SLOTS),
  })
  .superRefine((params, context) => {
    // A zone price names a household of its own slot, never one of the next slot's.
    params.slots.forEach((slot, t) => {
      slot.zonePrices.forEach(([index], z) => {
        if (index >= slot.households)
          context.addIssue({
            code: "custom",
            path: ["slots", t, "zonePrices", z, 0],
            message: `${index} is not one of the slot's ${slot.households} households`,
          });
      });
    });
  });
export type BillParams = z.infer<typeof billParamsSchema>;
export type BillSlotParams = BillParams["slots"][number];

/** What the nodes publish per slot: TD, and the number of households sharing its pool (uniform) or their Σ|d| (proportional). */
export interface BillPublic {
  readonly slots: readonly {
    readonly totalDeviationWh: number;
    readonly sharers: number;
    readonly sharedWh: number;
  }[];
}

export const billProgram: Program<BillParams> = {
  description:
    "UCS billing of spec/billing.md: per household and slot, its commitments and meter reading in " +
    `(${BILL_FIELDS.join(", ")}, column by column); out, per household and slot, ${BILL_OUTPUTS.join(", ")} ` +
    "as shares; published per slot: TD, and the sharers (uniform) or their total deviation (proportional)",
  params: billParamsSchema,
  inputWords: (params) => householdSlots(params) * BILL_FIELDS.length,
  async run(party, params, inputs) {
    return billOnShares(party, params, inputs);
  },
};

function householdSlots(params: BillParams): number {
  return params.slots.reduce((sum, slot) => sum + slot.households, 0);
}

async function billOnShares(
  party: Party,
  params: BillParams,
  inputs: Shared,
): Promise<{ public: BillPublic; outputs: Shared }> {
  const n = householdSlots(params);
  const counts = params.slots.map((slot) => slot.households);
  // Where each slot's households start in every column.
  const starts: number[] = [];
  for (let t = 0, at = 0; t < counts.length; at += counts[t] as number, t++) starts.push(at);
  const column = (field: (typeof BILL_FIELDS)[number]) => {
    const k = BILL_FIELDS.indexOf(field);
    return slice(inputs, k * n, (k + 1) * n);
  };
  const [cb, cs, sb, ss, bb, bs, bilateralMoney, imp, exp] = BILL_FIELDS.map(column) as [
    Shared,
    Shared,
    Shared,
    Shared,
    Shared,
    Shared,
    Shared,
    Shared,
    Shared,
  ];
  const bought = add(add(cb, sb), bb);
  const sold = add(add(cs, ss), bs);
  const deviation = add(sub(exp, sold), sub(bought, imp));

  // c = [b + s > 0]; d' = c·d, TD per slot opened.
  const committed = oneMinus(party, await equalsZero(party, add(bought, sold), DEVIATION_BITS));
  const effective = await mul(party, committed, deviation);
  const totals = signed(await open(party, segmentSums(effective, counts)));

  // The side that caused TD: [d' < 0] when TD < 0, [d' > 0] when TD > 0, nobody when TD = 0.
  const direction = (sign: number) =>
    perHousehold(counts, (t) => BigInt(sign * Math.sign(totals[t] as number)));
  const sharing = await lessThanZero(party, mulPublic(effective, direction(-1)), DEVIATION_BITS);
  // The uniform split needs how many share; the proportional one their total |d'|.
  const sharers =
    params.model === "ucs-uniform"
      ? signed(await open(party, segmentSums(sharing, counts)))
      : counts.map(() => 0);

  const sharedWh =
    params.model === "ucs-proportional"
      ? signed(
          await open(
            party,
            segmentSums(await mul(party, sharing, mulPublic(effective, direction(1))), counts),
          ),
        )
      : counts.map(() => 0);

  const price = (pick: (slot: BillSlotParams) => number) =>
    perHousehold(counts, (t) => BigInt(pick(params.slots[t] as BillSlotParams)));
  // −DP·d', without the household's share of the pool: its recipient adds that (module summary).
  const deviationMoney = mulPublic(
    effective,
    price((slot) => -slot.deviationPrice),
  );
  const communityPrices = price((slot) => slot.communityPrice);
  params.slots.forEach((slot, t) => {
    for (const [index, zonePrice] of slot.zonePrices)
      communityPrices[(starts[t] as number) + index] = BigInt(zonePrice);
  });
  const retail = price((slot) => slot.retail);
  const negFeedIn = price((slot) => -slot.feedIn);
  const fee = price((slot) => slot.networkFee);
  const commitments = add(
    add(mulPublic(sub(cb, cs), communityPrices), bilateralMoney),
    add(add(mulPublic(sb, retail), mulPublic(ss, negFeedIn)), mulPublic(add(cb, bb), fee)),
  );
  const plain = add(mulPublic(imp, retail), mulPublic(exp, negFeedIn));
  const [extra, plainPaid] = splitHalves(
    await mul(
      party,
      concat([committed, committed]),
      concat([sub(add(commitments, deviationMoney), plain), plain]),
    ),
    n,
  );
  const money = add(plain, extra);
  const plainTariffMoney = sub(plain, plainPaid);
  return {
    public: {
      slots: totals.map((totalDeviationWh, t) => ({
        totalDeviationWh,
        sharers: sharers[t] as number,
        sharedWh: sharedWh[t] as number,
      })),
    },
    outputs: concat([money, effective, deviationMoney, plainTariffMoney]),
  };
}

/** A public value per household-slot, from its slot's index. */
function perHousehold(counts: readonly number[], valueIn: (slot: number) => bigint): BigUint64Array {
  const out = new BigUint64Array(counts.reduce((a, b) => a + b, 0));
  let at = 0;
  counts.forEach((count, t) => {
    out.fill(BigInt.asUintN(64, valueIn(t)), at, at + count);
    at += count;
  });
  return out;
}

/** Σ of each slot's segment: local. */
function segmentSums(x: Shared, counts: readonly number[]): Shared {
  const sums = { own: new BigUint64Array(counts.length), next: new BigUint64Array(counts.length) };
  let at = 0;
  counts.forEach((count, t) => {
    let own = 0n;
    let next = 0n;
    for (let i = at; i < at + count; i++) {
      own += x.own[i] as bigint;
      next += x.next[i] as bigint;
    }
    sums.own[t] = BigInt.asUintN(64, own);
    sums.next[t] = BigInt.asUintN(64, next);
    at += count;
  });
  return sums;
}

function splitHalves(x: Shared, n: number): [Shared, Shared] {
  return [slice(x, 0, n), slice(x, n, 2 * n)];
}

/** Ring elements as signed numbers (every opened figure here is a safe integer). */
function signed(values: BigUint64Array): number[] {
  return Array.from(values, (value) => Number(BigInt.asIntN(64, value)));
}
