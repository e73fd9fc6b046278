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
import { billingPeriodOf, DeviationPool, type ImplausibleReading } from "../../billing/index.ts";
import { BILLING_MODELS, type BillingModel } from "../../billing/types.ts";
import {
  add,
  concat,
  mul,
  mulPublic,
  open,
  publicShared,
  type Shared,
  slice,
  sub,
} from "../../mpc/arithmetic.ts";
import { equalsZero, lessThanZero, oneMinus } from "../../mpc/compare.ts";
import { floorScaled } from "../../mpc/divide.ts";
import type { Party } from "../../mpc/party.ts";
import { idField, integerField, oneOfField, priceField, slotTimeField } from "../../validation/index.ts";
import { refuseUnkept, refuseWithoutRegistry } from "../access.ts";
import type { JobContext, SnippetProgram } from "../context.ts";
import { rowsAt } from "../shares.ts";
import type { KeptBills } from "./kept.ts";
import { BILL_FIELDS, BILL_OUTPUTS, MAX_HOUSEHOLD_SLOTS } from "./layout.ts";

/**
 * Bits of a household's committed total and deviation: six committed volumes and two readings of at
 * most 2^32 − 1 Wh each (spec/io.md) stay below 2^35; one more for the sign.
 */
const DEVIATION_BITS = 36;
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
    /**
     * Bill from the readings the meters sent the nodes: per slot, its time and its households' ids in
     * order. The client's importWh and exportWh stand only for households whose meter did not report
     * (the estimate); the nodes keep the bills for the households and the period's sums, and the
     * client gets none.
     */
    metered: z
      .array(z.strictObject({ slot: slotTimeField, households: z.array(idField).max(MAX_HOUSEHOLD_SLOTS) }))
      .optional(),
  })
  .superRefine((params, context) => {
    params.metered?.forEach((slot, t) => {
      const expected = params.slots[t]?.households;
      if (slot.households.length !== expected)
        context.addIssue({
          code: "custom",
          path: ["metered", t, "households"],
          message: `names ${slot.households.length} households; slot ${t} has ${expected ?? "none"}`,
        });
    });
    const seen = new Set<string>();
    params.metered?.forEach(({ slot }, t) => {
      if (seen.has(slot))
        context.addIssue({
          code: "custom",
          path: ["metered", t, "slot"],
          message: `${slot} is listed twice`,
        });
      seen.add(slot);
    });
    if (params.metered !== undefined && params.metered.length !== params.slots.length)
      context.addIssue({
        code: "custom",
        path: ["metered"],
        message: `lists ${params.metered.length} slots for ${params.slots.length}`,
      });
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

/**
 * What the nodes publish per slot: TD, and the number of households sharing its pool (uniform) or
 * their Σ|d| (proportional). Billing from the meters' readings adds, per slot, the households billed
 * at their estimate and, of those, the ones whose reading the metering's close refused as implausible
 * (the operator learned both at the close already).
 */
export interface BillPublic {
  readonly slots: readonly {
    readonly totalDeviationWh: number;
    readonly sharers: number;
    readonly sharedWh: number;
  }[];
  readonly estimated?: readonly (readonly string[])[];
  readonly implausible?: readonly (readonly ImplausibleReading[])[];
}

export const billProgram: SnippetProgram<BillParams> = {
  description:
    "UCS billing of spec/billing.md: per household and slot, its commitments and meter reading in " +
    `(${BILL_FIELDS.join(", ")}, column by column); out, per household and slot, ${BILL_OUTPUTS.join(", ")} ` +
    "as shares; published per slot: TD, and the sharers (uniform) or their total deviation (proportional)",
  params: billParamsSchema,
  inputWords: (params) => householdSlots(params) * BILL_FIELDS.length,
  refuse: (params, context) =>
    params.metered === undefined ? refuseSupplied(context) : refuseMetered(params, context),
  async run(party, params, inputs, context) {
    if (params.metered === undefined) return billOnShares(party, params, inputs, { withPoolShare: false });
    const node = context as Required<JobContext>;
    const { estimated, implausible } = takeMeterReadings(params, inputs, node);
    const result = await billOnShares(party, params, inputs, { withPoolShare: true });
    keepBills(params, result.outputs, node.bills);
    const figures: BillPublic = { ...result.public, estimated, implausible };
    return { public: figures };
  },
};

/** Bills from a client's own data: anyone's on a development node; the operator's or a supplier's where parties are registered. */
function refuseSupplied(context: JobContext): string | undefined {
  if (context.registry === undefined) return undefined;
  const role = context.requester?.role;
  return role === "operator" || role === "supplier"
    ? undefined
    : "only the operator or a supplier bills from its own data on this node";
}

/** Why a node will not bill from its meter readings: who asks, and whether every reading is there. */
function refuseMetered(params: BillParams, context: JobContext): string | undefined {
  const problem = refuseWithoutRegistry(context);
  if (problem !== undefined) return problem;
  const { requester, registry, bills } = context as Required<JobContext>;
  if (requester?.role !== "operator") return "only the operator bills from the meters' readings";
  for (const { slot, households } of params.metered ?? []) {
    const unkept = refuseUnkept(context, slot);
    if (unkept !== undefined) return unkept;
    if (bills.isClosed(billingPeriodOf(slot))) return `billing period ${billingPeriodOf(slot)} is closed`;
    if (bills.isBilled(slot)) return `slot ${slot} is billed already`;
    const unmetered = households.find((household) => !registry.meterOf.has(household));
    if (unmetered !== undefined) return `household ${unmetered} has no registered meter`;
  }
  return undefined;
}

/**
 * Puts the nodes' shares of each household's reading into the importWh and exportWh columns; the
 * client's estimate stays where the meter did not report or its reading was refused as implausible.
 * @returns those households by slot, and of them the refused ones with the reason.
 */
export function takeMeterReadings(
  params: BillParams,
  inputs: Shared,
  node: Pick<Required<JobContext>, "meters" | "registry">,
): Required<Pick<BillPublic, "estimated" | "implausible">> {
  const n = householdSlots(params);
  const importAt = BILL_FIELDS.indexOf("importWh") * n;
  const exportAt = BILL_FIELDS.indexOf("exportWh") * n;
  let row = 0;
  const implausible: ImplausibleReading[][] = [];
  const estimated = (params.metered ?? []).map(({ slot, households }) => {
    const stored = node.meters.readings(slot);
    const estimatedInSlot: string[] = [];
    const refused: ImplausibleReading[] = [];
    for (const household of households) {
      const meter = node.registry.meterOf.get(household) as string;
      const k = stored?.index.get(meter);
      const reason = stored?.implausible.get(meter);
      if (reason !== undefined) refused.push({ id: household, reason });
      if (stored === undefined || k === undefined) estimatedInSlot.push(household);
      else
        for (const part of ["own", "next"] as const) {
          inputs[part][importAt + row] = stored.importWh[part][k] as bigint;
          inputs[part][exportAt + row] = stored.exportWh[part][k] as bigint;
        }
      row++;
    }
    implausible.push(refused);
    return estimatedInSlot;
  });
  return { estimated, implausible };
}

/**
 * Keeps each slot's bills on the node, one row of BILL_OUTPUTS words per household, for the household
 * to fetch and for the period's sums.
 */
function keepBills(params: BillParams, outputs: Shared, bills: KeptBills): void {
  const n = householdSlots(params);
  let first = 0;
  for (const { slot, households } of params.metered ?? []) {
    const positions = households.map((_, h) => first + h);
    bills.keep(slot, households, rowsAt(outputs, n, positions));
    first += households.length;
  }
}

function householdSlots(params: BillParams): number {
  return params.slots.reduce((sum, slot) => sum + slot.households, 0);
}

/** How {@link billOnShares} finishes the bills and what it opens. */
export interface BillingOptions {
  /**
   * Each household's share of its slot's pool is added on shares, a secret division for the
   * proportional split; without it, the bill's recipient adds it on opening.
   */
  readonly withPoolShare: boolean;
  /**
   * Open both of the sharers' aggregates, their count and their Σ|d'|, whatever the model needs:
   * the ledger's slot result carries both.
   */
  readonly allAggregates?: boolean;
}

/** The bills on shares, BILL_OUTPUTS column-major over every household-slot; opened: TD and the sharers' aggregates per slot. */
export async function billOnShares(
  party: Party,
  params: BillParams,
  inputs: Shared,
  { withPoolShare, allAggregates = false }: BillingOptions,
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
  // The uniform split needs how many share; the proportional one their total |d'|. What is needed
  // of both is opened in one round.
  const countSharers = params.model === "ucs-uniform" || allAggregates;
  const magnitude =
    params.model === "ucs-proportional" || allAggregates
      ? await mul(party, sharing, mulPublic(effective, direction(1)))
      : undefined;
  const sums = [
    ...(countSharers ? [segmentSums(sharing, counts)] : []),
    ...(magnitude === undefined ? [] : [segmentSums(magnitude, counts)]),
  ];
  const opened = sums.length === 0 ? [] : signed(await open(party, concat(sums)));
  const none = counts.map(() => 0);
  const sharers = countSharers ? opened.slice(0, counts.length) : none;
  const sharedWh = magnitude === undefined ? none : opened.slice(opened.length - counts.length);
  const pools = params.slots.map(
    (slot, t) =>
      new DeviationPool(
        { prices: slot, clearingPrice: slot.deviationPrice },
        totals[t] as number,
        sharers[t] as number,
        sharedWh[t] as number,
        params.model,
      ),
  );
  const share = withPoolShare
    ? await poolShares(
        party,
        pools,
        counts,
        starts,
        sharing,
        params.model === "ucs-proportional" ? magnitude : undefined,
      )
    : publicShared(party.id, new BigUint64Array(n));

  const price = (pick: (slot: BillSlotParams) => number) =>
    perHousehold(counts, (t) => BigInt(pick(params.slots[t] as BillSlotParams)));
  const deviationMoney = add(
    share,
    mulPublic(
      effective,
      price((slot) => -slot.deviationPrice),
    ),
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

/**
 * Each household's share of its slot's pool: the uniform share times [sharing], or the proportional
 * ⌊pool·|d'| / Σ|d'|⌋ by the floor division rationing uses too.
 */
async function poolShares(
  party: Party,
  pools: readonly DeviationPool[],
  counts: readonly number[],
  starts: readonly number[],
  sharing: Shared,
  magnitude: Shared | undefined,
): Promise<Shared> {
  if (magnitude === undefined)
    return mulPublic(
      sharing,
      perHousehold(counts, (t) => BigInt((pools[t] as DeviationPool).uniformShare())),
    );
  const dividing = counts.flatMap((_, t) => ((pools[t] as DeviationPool).sharedDeviationWh > 0 ? [t] : []));
  const { quotients } = await floorScaled(
    party,
    dividing.map((t) => ({
      values: slice(magnitude, starts[t] as number, (starts[t] as number) + (counts[t] as number)),
      numerator: (pools[t] as DeviationPool).money,
      denominator: BigInt((pools[t] as DeviationPool).sharedDeviationWh),
    })),
    DEVIATION_BITS,
  );
  const quotientOf = new Map(dividing.map((t, k) => [t, quotients[k] as Shared]));
  return concat(
    counts.map((count, t) => quotientOf.get(t) ?? publicShared(party.id, new BigUint64Array(count))),
  );
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
