import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { billingSlot, workedExample } from "../../test/support/communities.ts";
import { checkProperty } from "../../test/support/property.ts";
import { cost } from "../units/index.ts";
import { billPeriod, StatementBook } from "./period.ts";
import type { BillingModel } from "./types.ts";
import { billSlot, committedTotals, deviationPrice } from "./ucs.ts";

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
