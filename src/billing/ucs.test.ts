import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  billingSlot,
  physicalCapacities,
  withPhysicalCapacities,
  workedExample,
} from "../../test/support/communities.ts";
import { checkProperty } from "../../test/support/property.ts";
import { cost, MAX_ENERGY_WH } from "../units/index.ts";
import { billPeriod, StatementBook, summarizeBills } from "./period.ts";
import type { BillingModel, BillingSlot } from "./types.ts";
import {
  aboveCapacity,
  billSlot,
  committedTotals,
  deviationPrice,
  estimatedReading,
  implausibility,
} from "./ucs.ts";

const models = fc.constantFrom<BillingModel>("ucs-uniform", "ucs-proportional");
const sum = (values: readonly number[]): bigint => values.reduce((a, b) => a + BigInt(b), 0n);

describe("UCS billing of a slot", () => {
  for (const [name, metered, bills, supplier] of [
    [
      "a shortage",
      { P1: { importWh: 0, exportWh: 4 }, C1: { importWh: 7, exportWh: 0 } },
      [1800, 1000, -950, -1250],
      600n,
    ],
    ["c under-production", { P1: { importWh: 0, exportWh: 4 } }, [1500, 1000, -950, -1250], 300n],
    ["d surplus", { P1: { importWh: 0, exportWh: 6 } }, [1500, 1000, -1450, -1250], -200n],
  ] as const) {
    it(`matches the worked example (${name}) of spec/billing.md`, () => {
      const billing = billSlot(workedExample(metered), "ucs-uniform");
      assert.deepEqual(
        billing.bills.map((bill) => bill.money),
        bills,
      );
      assert.equal(billing.supplierDeviationMoney, supplier);
    });
  }

  it("keeps the supplier whole: it gets retail·(−TD) or pays feedIn·TD, less a floored remainder under N units", () => {
    checkProperty(
      fc.property(billingSlot(), models, (slot, model) => {
        const billing = billSlot(slot, model);
        const td = billing.totalDeviationWh;
        const sharers = billing.bills.filter(
          (bill) => Math.sign(bill.deviationWh) === Math.sign(td) && td !== 0,
        ).length;
        const owed = BigInt(td < 0 ? cost(-td, slot.prices.retail) : -cost(td, slot.prices.feedIn));
        const remainder = owed - billing.supplierDeviationMoney;
        assert.ok(
          remainder >= 0n && remainder < BigInt(Math.max(sharers, 1)),
          `remainder ${remainder} with ${sharers} sharers`,
        );
        if (td === 0) assert.equal(billing.supplierDeviationMoney, 0n);
      }),
    );
  });

  it("nets peers' payments to each other to zero and adds every bill up from its parts", () => {
    checkProperty(
      fc.property(billingSlot(), models, (slot, model) => {
        const bills = billSlot(slot, model).bills;
        assert.equal(sum(bills.map((bill) => bill.communityMoney)), 0n);
        assert.equal(sum(bills.map((bill) => bill.bilateralMoney)), 0n);
        for (const bill of bills) {
          const parts = [
            bill.communityMoney,
            bill.bilateralMoney,
            bill.supplierMoney,
            bill.networkFeeMoney,
            bill.deviationMoney,
            bill.plainTariffMoney,
          ];
          assert.equal(sum(parts), BigInt(bill.money));
        }
      }),
    );
  });

  it("charges nothing for deviations to a household that met its commitments, and the plain tariff without commitments", () => {
    checkProperty(
      fc.property(billingSlot(), models, (slot, model) => {
        const billing = billSlot(slot, model);
        slot.households.forEach((household, index) => {
          const bill = billing.bills[index];
          assert.equal(bill?.id, household.id);
          const committed = committedTotals(household);
          if (committed.importWh + committed.exportWh === 0) {
            const plain =
              cost(household.metered.importWh, slot.prices.retail) -
              cost(household.metered.exportWh, slot.prices.feedIn);
            assert.equal(bill.money, plain);
            assert.equal(bill.deviationWh, 0);
          } else if (bill.deviationWh === 0) assert.equal(bill.deviationMoney, 0);
        });
      }),
    );
  });

  it("splits the pool equally (uniform) or in proportion to |d| (proportional), each share floored", () => {
    checkProperty(
      fc.property(billingSlot(2000), (slot) => {
        const dp = BigInt(deviationPrice(slot));
        for (const model of ["ucs-uniform", "ucs-proportional"] as const) {
          const billing = billSlot(slot, model);
          const td = billing.totalDeviationWh;
          if (td === 0) continue;
          const sharing = billing.bills.filter((bill) => Math.sign(bill.deviationWh) === Math.sign(td));
          const pool =
            td < 0
              ? BigInt(-td) * (BigInt(slot.prices.retail) - dp)
              : BigInt(td) * (dp - BigInt(slot.prices.feedIn));
          const shares = sharing.map((bill) => BigInt(bill.deviationMoney) + BigInt(bill.deviationWh) * dp);
          const weight = sharing.reduce((total, bill) => total + Math.abs(bill.deviationWh), 0);
          shares.forEach((share, k) => {
            const d = Math.abs(sharing[k]?.deviationWh ?? 0);
            const exact =
              model === "ucs-uniform" ? [pool, BigInt(sharing.length)] : [pool * BigInt(d), BigInt(weight)];
            const [numerator, denominator] = exact as [bigint, bigint];
            assert.ok(share * denominator <= numerator && numerator < (share + 1n) * denominator);
          });
        }
      }),
    );
  });
});

describe("period billing", () => {
  it("totals each household's slot bills and keeps statements consistent with them", () => {
    checkProperty(
      fc.property(fc.array(billingSlot(), { minLength: 1, maxLength: 4 }), models, (slots, model) => {
        const request = {
          version: 1 as const,
          slots: slots.map((slot, k) => ({ ...slot, slot: `2026-06-01T1${k}:00:00Z` })),
        };
        const result = billPeriod(request, model);
        const book = new StatementBook();
        for (const slot of request.slots) book.add(slot, billSlot(slot, model));
        const statements = new Map(book.statements().map((statement) => [statement.id, statement]));
        let supplier = 0n;
        for (const slot of request.slots) supplier += billSlot(slot, model).supplierDeviationMoney;
        assert.equal(result.supplier.deviationMoney, supplier);
        for (const bill of result.bills) {
          assert.equal(bill.totalMoney, sum(bill.slots.map((slot) => slot.money)));
          const statement = statements.get(bill.id);
          assert.equal(statement?.money.total, bill.totalMoney);
          assert.equal(statement.savingMoney, statement.plainTariffBaseline - statement.money.total);
          assert.equal(statement.slots, bill.slots.length);
        }
      }),
      0.5,
    );
  });
});

/** The slot as if no capacity were known and every meter in `ids` had read its household's commitment. */
function readAsCommitted(slot: BillingSlot, ids: ReadonlySet<string>): BillingSlot {
  return {
    ...slot,
    households: slot.households.map(({ physicalCapacityWh: _, ...household }) =>
      ids.has(household.id) ? { ...household, metered: estimatedReading(household.committed) } : household,
    ),
  };
}

/** The slot with the physical capacities `capacityOf` gives by household id. */
function capped(slot: BillingSlot, capacityOf: Readonly<Record<string, number>>): BillingSlot {
  return withPhysicalCapacities(slot, new Map(Object.entries(capacityOf)));
}

describe("plausible readings", () => {
  it("bills a reading above its connection's physical capacity at the commitment, exactly as if the meter had read it, neighbours included", () => {
    let refusedSeen = 0;
    checkProperty(
      fc.property(billingSlot(800), physicalCapacities(), models, (drawn, capacities, model) => {
        const slot = withPhysicalCapacities(drawn, capacities);
        const billing = billSlot(slot, model);
        const refused = new Set(billing.implausible.map((reading) => reading.id));
        // Refused are exactly the readings with a value above the capacity, each with its reason.
        for (const household of slot.households) {
          const capacity = household.physicalCapacityWh;
          const over =
            capacity !== undefined &&
            (household.metered.importWh > capacity || household.metered.exportWh > capacity);
          assert.equal(refused.has(household.id), over, household.id);
          if (over)
            assert.deepEqual(
              billing.implausible.find((reading) => reading.id === household.id)?.reason,
              aboveCapacity(capacity),
            );
        }
        // Every bill, the refused household's and its neighbours', TD and the supplier's side are
        // those of the slot where the refused meters read their commitments.
        const asCommitted = billSlot(readAsCommitted(slot, refused), model);
        assert.deepEqual(billing, { ...asCommitted, implausible: billing.implausible });
        for (const bill of billing.bills) if (refused.has(bill.id)) assert.equal(bill.deviationWh, 0);
        refusedSeen += refused.size;
      }),
    );
    assert.ok(refusedSeen > 0, "some reading was above its connection's physical capacity");
  });

  it("bills as read a reading above what the household may trade (its commitment) but within its physical capacity", () => {
    // Worked example a: C1 committed the 6 Wh its trading cap let it buy and read 7; its 25 A fuse
    // carries 4,312 Wh in a quarter-hour, so the 7 Wh stand and C1 pays its deviation.
    const slot = workedExample({ P1: { importWh: 0, exportWh: 4 }, C1: { importWh: 7, exportWh: 0 } });
    const billing = billSlot(capped(slot, { C1: 4312, C2: 4312, P1: 4312, P2: 4312 }), "ucs-uniform");
    assert.deepEqual(billing, billSlot(slot, "ucs-uniform"));
    assert.deepEqual(billing.implausible, []);
    assert.equal(billing.bills[0]?.deviationWh, -1);
  });

  it("accepts a reading exactly at its connection's physical capacity, and refuses one Wh more, in either direction", () => {
    const slot = workedExample({ P1: { importWh: 0, exportWh: 4 }, C1: { importWh: 7, exportWh: 0 } });
    const atCapacity = billSlot(capped(slot, { C1: 7, P1: 4 }), "ucs-uniform");
    assert.deepEqual(atCapacity, billSlot(slot, "ucs-uniform"));
    assert.deepEqual(atCapacity.implausible, []);

    const over = billSlot(capped(slot, { C1: 6, P1: 3 }), "ucs-uniform");
    assert.deepEqual(over.implausible, [
      { id: "C1", reason: "the reading is above the connection's physical capacity of 6 Wh for the slot" },
      { id: "P1", reason: "the reading is above the connection's physical capacity of 3 Wh for the slot" },
    ]);
    // Both read as their commitments: TD = 0, everyone pays its commitments only.
    assert.equal(over.totalDeviationWh, 0);
    assert.deepEqual(
      over.bills.map((bill) => bill.money),
      [1500, 1000, -1250, -1250],
    );
  });

  it("sets no bound on a connection without a known physical capacity", () => {
    const huge = { importWh: MAX_ENERGY_WH - 100, exportWh: 0 };
    assert.equal(implausibility({ metered: huge }), null);
    assert.equal(implausibility({ metered: huge, physicalCapacityWh: MAX_ENERGY_WH }), null);
    assert.equal(
      implausibility({ metered: { importWh: 0, exportWh: 1 }, physicalCapacityWh: 0 }),
      aboveCapacity(0),
    );
    const slot = workedExample({ C1: huge });
    assert.deepEqual(billSlot(slot, "ucs-uniform").implausible, []);
  });

  it("marks the refused slot estimated in the bill result, lists it with its reason, and keeps it out of the statements", () => {
    const slot = capped(workedExample({ C1: { importWh: 9000, exportWh: 0 } }), { C1: 2500 });
    const result = summarizeBills("ucs-uniform", [billSlot(slot, "ucs-uniform")]);
    assert.deepEqual(result.implausible, [{ slot: slot.slot, id: "C1", reason: aboveCapacity(2500) }]);
    assert.deepEqual(
      result.bills.map((bill) => bill.slots[0]?.estimated),
      [true, undefined, undefined, undefined],
    );
    assert.equal(
      "implausible" in summarizeBills("ucs-uniform", [billSlot(workedExample({}), "ucs-uniform")]),
      false,
      "absent when every reading is plausible",
    );
    const book = new StatementBook();
    book.add(slot, billSlot(slot, "ucs-uniform"));
    const c1 = book.statements()[0];
    assert.equal(c1?.energy.importedWh, 6, "the estimate, not the refused 9000 Wh");
    assert.equal(c1?.plainTariffBaseline, 6n * 300n);
  });
});
