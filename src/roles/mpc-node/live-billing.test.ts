import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { propertyOptions } from "../../../test/support/property.ts";
import {
  type BillingModel,
  type BillingSlot,
  billSlot,
  DeviationPool,
  estimatedReading,
  type HouseholdSlotBill,
  screenReadings,
} from "../../billing/index.ts";
import type { HouseholdSlotRecord } from "../../billing/record.ts";
import { lineOf, slotLineOf } from "../../ledger/lines.ts";
import { type Commitments, clearSlot, type HouseholdIntent } from "../../market/index.ts";
import { billOutputsOf, prepareBill } from "../../private/billing/encode.ts";
import type { SlotBilled } from "../../private/billing/kept.ts";
import { nullIntent } from "../../private/clearing/intent.ts";
import {
  generateRegistry,
  meterIdOf,
  OPERATOR_ID,
  parseRegistry,
  privateKeyOf,
  signerOf,
} from "../../private/registry.ts";
import { billSlotOnNodes } from "../broker/bill.ts";
import { clearSlotOnNodes, closeMetering, closePeriod } from "../broker/close.ts";
import { ownSlotBills, periodBills } from "../household/figures.ts";
import { submitIntent } from "../household/intent.ts";
import { fetchLineOpenings } from "../household/lines.ts";
import { sendReading } from "../meter/readings.ts";
import { NodeClient } from "./client.ts";
import { type LocalCluster, startLocalCluster } from "./local-cluster.ts";

/** What a connection can physically carry per slot: a reading above it is refused as implausible. */
const CAPACITY_WH = 2000;
const HOUSEHOLDS = ["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"];
/** Two feeder zones with limits a busy slot breaks (a zone splits off with its own price); h0 sells to h1 and h5, h4 to h2, h6 to h7; h1's trading is capped. */
const ZONES = [
  { id: "hill", exportLimitWh: 200, importLimitWh: 300 },
  { id: "vale", exportLimitWh: 300, importLimitWh: 200 },
];
const PARTNERS = [
  { seller: "h0", buyers: ["h1", "h5"] },
  { seller: "h4", buyers: ["h2"] },
  { seller: "h6", buyers: ["h7"] },
];
const CAPS: Record<string, number> = { h1: 800 };
const GENERATED = generateRegistry({
  households: HOUSEHOLDS.map((id, h) => ({
    id,
    zone: h < 4 ? "hill" : "vale",
    supplier: "s0",
    physicalCapacityWh: CAPACITY_WH,
    ...(CAPS[id] === undefined ? {} : { connectionCapWh: CAPS[id] }),
  })),
  partners: PARTNERS,
  zones: ZONES,
});
const REGISTRY = parseRegistry(GENERATED.file);
const signer = (party: string) => signerOf(GENERATED.keys, party);
const operator = signer(OPERATOR_ID);
const zoneOf = (id: string) => REGISTRY.meters.get(meterIdOf(id))?.zone as string;

/** One household's part of a random slot: no intent at all, a null intent, or a real one; and its meter. */
interface HouseholdPlan {
  readonly intent: "absent" | "null" | Omit<HouseholdIntent, "id" | "zone" | "connectionCapWh">;
  readonly reading: "silent" | "implausible" | { readonly importWh: number; readonly exportWh: number };
}

interface SlotPlan {
  readonly prices: { readonly feedIn: number; readonly retail: number; readonly networkFee: number };
  readonly model: BillingModel;
  readonly households: readonly HouseholdPlan[];
}

const slotArbitrary: fc.Arbitrary<SlotPlan> = fc
  .record({
    feedIn: fc.integer({ min: 400, max: 800 }),
    retail: fc.integer({ min: 1800, max: 2800 }),
    networkFee: fc.integer({ min: 0, max: 400 }),
    model: fc.constantFrom<BillingModel>("ucs-uniform", "ucs-proportional"),
    households: fc.array(
      fc.record({
        kind: fc.constantFrom("absent", "null", "real", "real", "real", "real"),
        side: fc.constantFrom("buy" as const, "sell" as const),
        volumeWh: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1500 })),
        limitShare: fc.double({ min: 0, max: 1, noNaN: true }),
        community: fc.boolean(),
        partners: fc.array(
          fc.record({
            capWh: fc.integer({ min: 0, max: 800 }),
            price: fc.integer({ min: 0, max: 3000 }),
            maxPrice: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
            trades: fc.boolean(),
          }),
          { minLength: 2, maxLength: 2 },
        ),
        reading: fc.oneof(
          { weight: 1, arbitrary: fc.constant("silent" as const) },
          { weight: 1, arbitrary: fc.constant("implausible" as const) },
          {
            weight: 6,
            arbitrary: fc.record({
              importWh: fc.integer({ min: 0, max: 1800 }),
              exportWh: fc.integer({ min: 0, max: 1800 }),
            }),
          },
        ),
      }),
      { minLength: HOUSEHOLDS.length, maxLength: HOUSEHOLDS.length },
    ),
  })
  .map(({ feedIn, retail, networkFee, model, households }) => ({
    prices: { feedIn, retail, networkFee },
    model,
    households: households.map((plan, h): HouseholdPlan => {
      const id = HOUSEHOLDS[h] as string;
      if (plan.kind !== "real") return { intent: plan.kind as "absent" | "null", reading: plan.reading };
      const buyers = PARTNERS.find((entry) => entry.seller === id)?.buyers ?? [];
      const sellers = PARTNERS.filter((entry) => entry.buyers.includes(id)).map((entry) => entry.seller);
      const offers = buyers.flatMap((partner, k) => {
        const terms = plan.partners[k];
        return terms?.trades === true ? [{ partner, capWh: terms.capWh, price: terms.price }] : [];
      });
      const accepts = sellers.flatMap((partner, k) => {
        const terms = plan.partners[k];
        return terms?.trades === true
          ? [
              {
                partner,
                capWh: terms.capWh,
                ...(terms.maxPrice === undefined ? {} : { maxPrice: terms.maxPrice }),
              },
            ]
          : [];
      });
      return {
        intent: {
          side: plan.side,
          volumeWh: plan.volumeWh,
          // Buyers bid in the upper half of the tariffs, sellers ask in the lower: most slots trade.
          limitPrice:
            feedIn + Math.floor(((plan.side === "buy" ? 1 : 0) + plan.limitShare) * ((retail - feedIn) / 2)),
          community: plan.community,
          ...(offers.length > 0 ? { offers } : {}),
          ...(accepts.length > 0 ? { accepts } : {}),
        },
        reading: plan.reading,
      };
    }),
  }));

/** The intent a household sends (and the reference clears), with its registry's zone and cap. */
function intentOf(id: string, plan: HouseholdPlan, prices: SlotPlan["prices"]): HouseholdIntent | undefined {
  if (plan.intent === "absent") return undefined;
  const registered = { zone: zoneOf(id), ...(CAPS[id] === undefined ? {} : { connectionCapWh: CAPS[id] }) };
  return plan.intent === "null"
    ? { ...nullIntent(id, prices), ...registered }
    : { id, ...plan.intent, ...registered };
}

const NOTHING: Commitments = {
  communityBuyWh: 0,
  communitySellWh: 0,
  bilateral: [],
  supplierBuyWh: 0,
  supplierSellWh: 0,
};

/**
 * The reference's slot: clearSlot on the intents sent (a household without one committed nothing),
 * and each meter's reading — a silent meter's at the commitment's estimate, as billing takes it.
 */
function referenceSlot(slot: string, plan: SlotPlan): BillingSlot {
  const intents = HOUSEHOLDS.flatMap((id, h) => {
    const intent = intentOf(id, plan.households[h] as HouseholdPlan, plan.prices);
    return intent === undefined ? [] : [intent];
  });
  const outcome = clearSlot({ slot, prices: plan.prices, households: intents, zones: ZONES });
  const committedOf = new Map(outcome.commitments.map((entry) => [entry.id, entry.committed]));
  return {
    slot,
    prices: plan.prices,
    clearingPrice: outcome.community.clearingPrice,
    households: HOUSEHOLDS.map((id, h) => {
      const committed = committedOf.get(id) ?? NOTHING;
      const { reading } = plan.households[h] as HouseholdPlan;
      return {
        id,
        committed,
        metered:
          reading === "silent"
            ? estimatedReading(committed)
            : reading === "implausible"
              ? { importWh: CAPACITY_WH + 1, exportWh: 0 }
              : reading,
        physicalCapacityWh: CAPACITY_WH,
      };
    }),
  };
}

/** A household's community order in the reference (after the bilateral stage), or null without one. */
function orderOf(slot: string, plan: SlotPlan, id: string): HouseholdSlotRecord["order"] {
  const intents = HOUSEHOLDS.flatMap((household, h) => {
    const intent = intentOf(household, plan.households[h] as HouseholdPlan, plan.prices);
    return intent === undefined ? [] : [intent];
  });
  const order = clearSlot({ slot, prices: plan.prices, households: intents, zones: ZONES }).orders.find(
    (candidate) => candidate.id === id,
  );
  return order === undefined
    ? null
    : { side: order.side, volumeWh: order.volumeWh, limitPrice: order.limitPrice };
}

let cluster: LocalCluster;
let client: NodeClient;
let slots = 0;
/** A fresh slot for each run: 15 minutes apart from midnight, all in one billing period. */
const nextSlot = () => new Date(Date.UTC(2026, 5, 1) + 900_000 * slots++).toISOString();

before(async () => {
  cluster = await startLocalCluster({ registry: GENERATED });
  client = await NodeClient.connect(cluster.config);
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

/** Runs a slot on the nodes as a deployment does: intents, clearing, readings, metering's close, billing. */
async function runSlot(slot: string, plan: SlotPlan) {
  const held = await Promise.all(
    HOUSEHOLDS.flatMap((id, h) => {
      const intent = intentOf(id, plan.households[h] as HouseholdPlan, plan.prices);
      return intent === undefined ? [] : [submitIntent(client, REGISTRY, slot, intent, signer(id))];
    }),
  );
  const { feedIn, retail } = plan.prices;
  const cleared = await clearSlotOnNodes(client, slot, { feedIn, retail }, operator);
  await Promise.all(held.map((intent) => intent.commitments));
  for (const [h, id] of HOUSEHOLDS.entries()) {
    const { reading } = plan.households[h] as HouseholdPlan;
    if (reading === "silent") continue;
    const sent = reading === "implausible" ? { importWh: CAPACITY_WH + 1, exportWh: 0 } : reading;
    const meter = { id: meterIdOf(id), key: privateKeyOf(GENERATED.keys, "meters", meterIdOf(id)) };
    assert.equal(await sendReading(client, meter, slot, sent), null);
  }
  const metering = await closeMetering(client, slot, operator);
  const billed = await billSlotOnNodes(client, slot, plan.prices, plan.model, operator);
  return { cleared, metering, billed };
}

/** Every household fetches its own bill, and the bills are rebuilt as the metered `bill` client does. */
async function fetchedBills(reference: BillingSlot, model: BillingModel, billed: SlotBilled) {
  const rows = await Promise.all(
    HOUSEHOLDS.map(
      async (id) => (await ownSlotBills(client, [reference.slot], signer(id)))[0] as BigUint64Array,
    ),
  );
  const published = {
    slots: [
      { totalDeviationWh: billed.totalDeviationWh, sharers: billed.sharers, sharedWh: billed.sharedWh },
    ],
    estimated: [billed.estimated],
    implausible: [billed.implausible],
  };
  return prepareBill([reference], model, { metered: true }).finish(published, billOutputsOf(rows))[0];
}

describe("billing a slot on running nodes from what they keep", { timeout: 300_000 }, () => {
  it("gives every household the reference's bill, on random communities", async () => {
    await fc.assert(
      fc.asyncProperty(slotArbitrary, async (plan) => {
        const slot = nextSlot();
        const { billed } = await runSlot(slot, plan);
        const reference = referenceSlot(slot, plan);
        const expected = billSlot(reference, plan.model);
        assert.deepEqual((await fetchedBills(reference, plan.model, billed))?.bills, expected.bills);
        // The public figures: TD, the sharers and their Σ|d| in either model (a deviation of 0 never
        // shares), and who was billed at the estimate.
        const pool = DeviationPool.of(
          reference,
          expected.bills.map((bill) => bill.deviationWh),
          plan.model,
        );
        // Each household's line, opened by the three nodes to it alone, is the reference's line.
        const lines = await Promise.all(
          HOUSEHOLDS.map(async (id) => (await fetchLineOpenings(client, [slot], signer(id)))[0]),
        );
        reference.households.forEach((household, h) => {
          const openings = lines[h];
          assert.ok(openings !== null && openings !== undefined, `${household.id}'s line is kept`);
          assert.deepEqual(
            lineOf(openings),
            slotLineOf({
              id: household.id,
              order: orderOf(slot, plan, household.id),
              committed: household.committed,
              metered: screenReadings([household]).households[0]?.metered ?? household.metered,
              bill: expected.bills[h] as HouseholdSlotBill,
            }),
            `${household.id}'s line`,
          );
        });
        assert.deepEqual(billed, {
          slot,
          totalDeviationWh: expected.totalDeviationWh,
          sharers: pool.sharers,
          sharedWh: pool.sharedDeviationWh,
          // Silent meters and refused readings alike.
          estimated: HOUSEHOLDS.filter((_, h) => typeof plan.households[h]?.reading === "string"),
          implausible: expected.implausible,
        });
      }),
      propertyOptions(0.05),
    );
  });
});

describe("the operator's steps of a slot, repeated by a broker that restarted", { timeout: 120_000 }, () => {
  /** A slot in a period of its own, so that its period's bills are this slot's alone. */
  const SLOT = "2026-07-01T12:00:00Z";
  const PLAN: SlotPlan = {
    prices: { feedIn: 500, retail: 2500, networkFee: 100 },
    model: "ucs-uniform",
    households: HOUSEHOLDS.map((_, h) => ({
      intent: { side: h % 2 === 0 ? "sell" : "buy", volumeWh: 300 + 50 * h, limitPrice: 1500 },
      reading:
        h === 3 ? "silent" : { importWh: h % 2 === 0 ? 0 : 320 + 40 * h, exportWh: h % 2 === 0 ? 280 : 0 },
    })),
  };
  const { feedIn, retail } = PLAN.prices;

  it("answers the same figures again and changes nothing; other terms and other parties are refused", async () => {
    const first = await runSlot(SLOT, PLAN);
    // A broker that restarted asks again over a connection of its own.
    const broker = await NodeClient.connect(cluster.config);
    after(() => broker.close());
    assert.deepEqual(await clearSlotOnNodes(broker, SLOT, { feedIn, retail }, operator), first.cleared);
    await assert.rejects(
      clearSlotOnNodes(broker, SLOT, { feedIn, retail: retail + 1 }, operator),
      /slot 2026-07-01T12:00:00Z was cleared with feedIn 500 and retail 2500, not these tariffs/,
    );
    await assert.rejects(
      clearSlotOnNodes(broker, SLOT, { feedIn, retail }, signer("h0")),
      /only the operator \(the broker\) clears a slot/,
    );
    // A reading after the close is late; the repeated close answers what the first one did.
    const meter = { id: meterIdOf("h3"), key: privateKeyOf(GENERATED.keys, "meters", meterIdOf("h3")) };
    assert.match((await sendReading(client, meter, SLOT, { importWh: 1, exportWh: 0 })) ?? "", /came late/);
    assert.deepEqual(await closeMetering(broker, SLOT, operator), first.metering);
    assert.deepEqual(first.metering.missing, [meterIdOf("h3")]);
    const bills = async () =>
      Promise.all(HOUSEHOLDS.map(async (id) => (await ownSlotBills(client, [SLOT], signer(id)))[0]));
    const billsBefore = await bills();
    assert.deepEqual(await billSlotOnNodes(broker, SLOT, PLAN.prices, PLAN.model, operator), first.billed);
    assert.deepEqual(await bills(), billsBefore, "the bills are the first run's");
    await assert.rejects(
      billSlotOnNodes(broker, SLOT, { ...PLAN.prices, networkFee: 0 }, PLAN.model, operator),
      /slot 2026-07-01T12:00:00Z was billed with feedIn 500, retail 2500, networkFee 100 and ucs-uniform, not these terms/,
    );
    await assert.rejects(
      billSlotOnNodes(broker, SLOT, PLAN.prices, PLAN.model, signer("h1")),
      /only the operator bills a slot/,
    );
    // Nor does the client-supplied metered `bill` bill it again.
    const metered = prepareBill([referenceSlot(SLOT, PLAN)], PLAN.model, { metered: true });
    await assert.rejects(
      client.run("bill", metered.params, metered.inputs, { signer: operator }),
      /slot 2026-07-01T12:00:00Z is billed already/,
    );
    // Each slot bill counts once in its period.
    await closePeriod(broker, "2026-07", operator);
    const reference = billSlot(referenceSlot(SLOT, PLAN), PLAN.model);
    assert.deepEqual(
      (await periodBills(client, "2026-07", signer("s0"))).map(({ household, money }) => ({
        household,
        money,
      })),
      reference.bills.map(({ id, money }) => ({ household: id, money })),
    );
  });

  it("bills a slot the nodes never cleared at the plain tariff, and never clears it afterwards", async () => {
    const slot = "2026-06-30T23:45:00Z";
    const [household] = HOUSEHOLDS as [string];
    const held = await submitIntent(
      client,
      REGISTRY,
      slot,
      { id: household, side: "buy", volumeWh: 400, limitPrice: 1500, zone: zoneOf(household) },
      signer(household),
    );
    const meter = {
      id: meterIdOf(household),
      key: privateKeyOf(GENERATED.keys, "meters", meterIdOf(household)),
    };
    assert.equal(await sendReading(client, meter, slot, { importWh: 450, exportWh: 0 }), null);
    await closeMetering(client, slot, operator);
    const billed = await billSlotOnNodes(client, slot, PLAN.prices, PLAN.model, operator);
    assert.deepEqual(billed.totalDeviationWh, 0);
    await assert.rejects(
      held.commitments,
      /slot 2026-06-30T23:45:00Z was not cleared: it is billed without commitments/,
    );
    const [row] = await ownSlotBills(client, [slot], signer(household));
    assert.equal(Number(BigInt.asIntN(64, row?.[0] ?? 0n)), 450 * retail, "the plain tariff");
    await assert.rejects(
      clearSlotOnNodes(client, slot, { feedIn, retail }, operator),
      /slot 2026-06-30T23:45:00Z is already cleared or billed, and the nodes keep no clearing of it/,
    );
  });
});
