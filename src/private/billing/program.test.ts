import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  billingSlot,
  physicalCapacities,
  withPhysicalCapacities,
} from "../../../test/support/communities.ts";
import { deal, runParties } from "../../../test/support/mpc.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import {
  type BillingModel,
  type BillingSlot,
  billPeriod,
  billSlot,
  estimatedReading,
  type HouseholdSlot,
  parseBillRequest,
  summarizeBills,
} from "../../billing/index.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { type NodeShares, reconstruct } from "../../mpc/client.ts";
import { resolveProgram } from "../../mpc/programs.ts";
import type { JobContext } from "../context.ts";
import { sealReading } from "../metering/envelope.ts";
import { MeterIntake } from "../metering/intake.ts";
import { meterCloseProgram } from "../metering/program.ts";
import { PROGRAMS } from "../programs.ts";
import { generateRegistry, meterIdOf, OPERATOR_ID, parseRegistry, privateKeyOf } from "../registry.ts";
import { billOutputsOf, prepareBill } from "./encode.ts";
import { KeptBills } from "./kept.ts";
import { type BillPublic, billParamsSchema, billProgram } from "./program.ts";

const MODELS: readonly BillingModel[] = ["ucs-uniform", "ucs-proportional"];

/**
 * Bills the slots from readings the meters sent three in-memory nodes (a meter stays silent where
 * `silent` says so), each meter registered with its household's physical capacity in the slots;
 * the nodes close each slot's metering on shares, then bill, and each household's bill is rebuilt
 * from what the nodes keep. Returns the slot bills, what the operator got, and the nodes' kept bills.
 */
async function billFromMeters(
  slots: readonly BillingSlot[],
  model: BillingModel,
  silent: (slot: number, household: number) => boolean,
) {
  const households = new Map(
    slots.flatMap((slot) => slot.households.map((h) => [h.id, h.physicalCapacityWh] as const)),
  );
  const generated = generateRegistry({
    households: [...households].map(([id, physicalCapacityWh]) => ({
      id,
      zone: "z",
      supplier: "s",
      ...(physicalCapacityWh === undefined ? {} : { physicalCapacityWh }),
    })),
  });
  const registry = parseRegistry(generated.file);
  const contexts = ([0, 1, 2] as const).map((node) => ({
    job: "bill-job",
    registry,
    meters: new MeterIntake(node, registry),
    bills: new KeptBills(),
    requester: registry.parties.get(OPERATOR_ID) as NonNullable<JobContext["requester"]>,
  }));
  for (const [t, slot] of slots.entries()) {
    slot.households.forEach((household, h) => {
      if (silent(t, h)) return;
      const meter = meterIdOf(household.id);
      const sealed = sealReading(
        meter,
        slot.slot,
        household.metered,
        privateKeyOf(generated.keys, "meters", meter),
      );
      for (const [node, context] of contexts.entries()) {
        const { header, body } = sealed[node] as (typeof sealed)[number];
        assert.equal(context.meters.accept(header, body), null);
      }
    });
    const agreed = new Set(registry.meters.keys());
    const empty = { own: new BigUint64Array(0), next: new BigUint64Array(0) };
    await runParties((p) => meterCloseProgram.run(p, { slot: slot.slot }, empty, contexts[p.id], agreed));
  }
  const prepared = prepareBill(slots, model, { metered: true });
  const params = billParamsSchema.parse(prepared.params);
  const dealt = deal(prepared.inputs, 7);
  const results = await runParties(async (p) => {
    const context = contexts[p.id] as JobContext;
    assert.equal(billProgram.refuse?.(params, context), undefined);
    return billProgram.run(p, params, dealt[p.id], context);
  });
  // Each household's bill, rebuilt from the rows the three nodes keep for it.
  const published = results[0].public as BillPublic;
  const billings = slots.map((slot, t) => {
    const rows = slot.households.map(({ id }) =>
      reconstruct(contexts.map((c) => c.bills.slotBill(slot.slot, id) as Shared) as NodeShares),
    );
    const one = prepareBill([slot], model, { metered: true });
    const figures = {
      slots: [published.slots[t] as BillPublic["slots"][number]],
      implausible: [published.implausible?.[t] ?? []],
    };
    return one.finish(figures, billOutputsOf(rows))[0];
  });
  return { billings, results, contexts };
}

/** Bills the slots on three in-memory parties; returns the slot bills and what each party learned in the clear. */
async function billPrivately(slots: readonly BillingSlot[], model: BillingModel) {
  const prepared = prepareBill(slots, model);
  const dealt = deal(prepared.inputs, 5);
  const results = await runParties(async (p) => {
    p.recordDisclosures = true;
    const result = await billProgram.run(p, billParamsSchema.parse(prepared.params), dealt[p.id]);
    return { ...result, disclosed: p.disclosed.map((values) => [...values]) };
  });
  const published = results[0].public as BillPublic;
  const outputs = reconstruct(results.map((r) => r.outputs as Shared) as NodeShares);
  return {
    billings: prepared.finish(published, outputs),
    published,
    disclosed: results.map((r) => r.disclosed),
  };
}

const vectorDir = new URL("../../../test/vectors/spec/bill/", import.meta.url);

describe("the bill program", () => {
  for (const file of readdirSync(vectorDir).filter((name) => name.endsWith(".input.json"))) {
    for (const model of MODELS) {
      const expectedFile = file.replace(".input.json", `.${model}.expected.json`);
      if (!readdirSync(vectorDir).includes(expectedFile)) continue;
      it(`bills the spec vector ${file} (${model}) as the reference does`, async () => {
        const request = parseBillRequest(JSON.parse(readFileSync(new URL(file, vectorDir), "utf8")));
        const { billings } = await billPrivately(request.slots, model);
        const result = summarizeBills(model, billings);
        assert.deepEqual(result, billPeriod(request, model));
        const expected = JSON.parse(readFileSync(new URL(expectedFile, vectorDir), "utf8"));
        assert.deepEqual(
          JSON.parse(JSON.stringify(result, (_, v) => (typeof v === "bigint" ? Number(v) : v))),
          expected,
        );
      });
    }
  }

  it("equals the reference on random periods, every part of every slot bill, in both models, readings above their physical capacity refused by the client", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(billingSlot(800), { minLength: 1, maxLength: 3 }),
        fc.option(physicalCapacities(), { nil: undefined }),
        fc.constantFrom(...MODELS),
        async (drawn, capacities, model) => {
          const slots =
            capacities === undefined ? drawn : drawn.map((slot) => withPhysicalCapacities(slot, capacities));
          const { billings } = await billPrivately(slots, model);
          assert.deepEqual(
            billings,
            slots.map((slot) => billSlot(slot, model)),
          );
        },
      ),
      propertyOptions(0.05),
    );
  });

  it("bills from the meters' readings as the reference does, a silent meter at its estimate, a reading above its connection's physical capacity refused, both models", async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(billingSlot(800), { minLength: 1, maxLength: 2 }),
        physicalCapacities(),
        fc.constantFrom(...MODELS),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        async (drawn, capacities, model, silence) => {
          // One slot time each: a slot is metered and billed once.
          const slots = drawn.map((slot, t) =>
            withPhysicalCapacities({ ...slot, slot: `2026-06-01T1${t}:00:00Z` }, capacities),
          );
          const silent = (t: number, h: number) => silence[(t * 8 + h) % 16] === true;
          const { billings, results, contexts } = await billFromMeters(slots, model, silent);
          // A silent meter sent nothing to refuse: it is billed at its estimate, whatever its capacity.
          const estimated = ({ physicalCapacityWh: _, ...h }: HouseholdSlot): HouseholdSlot => ({
            ...h,
            metered: estimatedReading(h.committed),
          });
          const expected = slots.map((slot, t) =>
            billSlot(
              { ...slot, households: slot.households.map((h, k) => (silent(t, k) ? estimated(h) : h)) },
              model,
            ),
          );
          assert.deepEqual(billings, expected);
          const published = results[0].public as BillPublic;
          assert.deepEqual(
            published.implausible,
            expected.map((billing) => billing.implausible),
          );
          for (const billing of expected) refused += billing.implausible.length;
          // The operator gets no share of any bill; the nodes keep each household's period sum.
          for (const result of results) assert.equal(result.outputs, undefined);
          const period = contexts.map((c) => c.bills.periodSums("2026-06"));
          for (const household of slots[0]?.households ?? []) {
            const sum = reconstruct(period.map((p) => p.get(household.id) as Shared) as NodeShares);
            const money = expected.reduce(
              (total, b) => total + (b.bills.find((x) => x.id === household.id)?.money ?? 0),
              0,
            );
            assert.equal(
              BigInt.asIntN(64, sum[0] as bigint),
              BigInt(money),
              `${household.id}'s period money`,
            );
          }
        },
      ),
      propertyOptions(0.02),
    );
    assert.ok(refused > 0, "some reading was above its connection's physical capacity");
  });

  it("bills households without commitments at the plain tariff, and split-off zones at their own price", async () => {
    const slot: BillingSlot = {
      slot: "2026-06-01T12:00:00Z",
      prices: { feedIn: 500, retail: 2800, networkFee: 300 },
      clearingPrice: 1500,
      households: [
        {
          id: "idle",
          committed: {
            communityBuyWh: 0,
            communitySellWh: 0,
            bilateral: [],
            supplierBuyWh: 0,
            supplierSellWh: 0,
          },
          metered: { importWh: 120, exportWh: 0 },
        },
        {
          id: "hill",
          committed: {
            communityBuyWh: 0,
            communitySellWh: 400,
            communityPrice: 900,
            bilateral: [],
            supplierBuyWh: 0,
            supplierSellWh: 100,
          },
          metered: { importWh: 0, exportWh: 450 },
        },
        {
          id: "town",
          committed: {
            communityBuyWh: 400,
            communitySellWh: 0,
            bilateral: [{ partner: "x", side: "buy", volumeWh: 50, price: 0 }],
            supplierBuyWh: 30,
            supplierSellWh: 0,
          },
          metered: { importWh: 500, exportWh: 0 },
        },
      ],
    };
    for (const model of MODELS) {
      const { billings } = await billPrivately([slot], model);
      assert.deepEqual(billings, [billSlot(slot, model)], model);
    }
  });

  it("refuses parameters that do not fit their households, naming the field", () => {
    const slot = {
      households: 2,
      feedIn: 500,
      retail: 2800,
      networkFee: 0,
      deviationPrice: 1500,
      communityPrice: 1500,
      zonePrices: [[2, 900]],
    };
    const cases: [unknown, RegExp][] = [
      [
        { model: "ucs-uniform", slots: [slot] },
        /slots\[0\]\.zonePrices\[0\]\[0\]: 2 is not one of the slot's 2 households/,
      ],
      [{ model: "ucs-magic", slots: [{ ...slot, zonePrices: [] }] }, /model/],
      [{ model: "ucs-uniform", slots: [] }, /slots: is empty/],
      [{ model: "ucs-uniform", slots: [{ ...slot, zonePrices: [], retail: 70_000 }] }, /slots\[0\]\.retail/],
    ];
    for (const [params, message] of cases) {
      assert.throws(() => resolveProgram(PROGRAMS, "bill", params), message);
    }
  });

  it("opens only each slot's TD and its number of sharers (uniform) or their total deviation (proportional)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(billingSlot(800), { minLength: 1, maxLength: 2 }),
        fc.constantFrom(...MODELS),
        async (slots, model) => {
          const { disclosed, published } = await billPrivately(slots, model);
          const word = (value: number) => BigInt.asUintN(64, BigInt(value));
          const allowed = [
            published.slots.map((s) => word(s.totalDeviationWh)),
            published.slots.map((s) => word(model === "ucs-uniform" ? s.sharers : s.sharedWh)),
          ];
          for (const view of disclosed) assert.deepEqual(view, allowed);
          // And they are the reference's figures.
          slots.forEach((slot, t) => {
            const reference = billSlot(slot, model);
            assert.equal(published.slots[t]?.totalDeviationWh, reference.totalDeviationWh);
          });
        },
      ),
      propertyOptions(0.02),
    );
  });
});
