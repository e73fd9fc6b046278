/**
 * The contract of a RunStore as one test suite, run against every implementation (pglite.test.ts,
 * postgres.test.ts), and the sample slots it and the resume tests store.
 * @module
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { Statement } from "../../src/billing/index.ts";
import type { HouseholdSlotRecord, SlotRecord } from "../../src/billing/record.ts";
import type { BilateralCommitment, BilateralTrade, ZoneOutcome } from "../../src/market/index.ts";
import type { SqlDriver } from "../../src/store/driver.ts";
import { prepareSchema } from "../../src/store/schema.ts";
import type { RunDescription, RunStore } from "../../src/store/types.ts";
import { type Money, PRICE_GRID_MAX } from "../../src/units/index.ts";
import { propertyOptions } from "./property.ts";

/**
 * Registers the contract's tests for the store `open` gives. Each call of `open` must reach the same
 * database (the suite closes and reopens the store to check what persists).
 */
export function runStoreContract(name: string, open: () => Promise<RunStore>): void {
  describe(`RunStore contract: ${name}`, () => {
    let store: RunStore;
    let runs = 0;
    const newRun = (householdIds: readonly string[]): RunDescription => ({
      id: `run-${runs++}`,
      scenario: "contract",
      seed: 20261124,
      config: { days: 1, engine: "reference", tariff: { feedIn: 500, retail: 2000 } },
      householdIds,
    });

    before(async () => {
      store = await open();
    });
    after(() => store.close());

    it("reads random slots back exactly as they were appended, in one batch or two", async () => {
      await fc.assert(
        fc.asyncProperty(randomRun(), async ({ householdIds, records, split, range }) => {
          const run = newRun(householdIds);
          assert.equal(await store.openRun(run), 0);
          await store.appendSlots(run.id, records.slice(0, split));
          await store.appendSlots(run.id, records.slice(split));
          assert.equal(await store.openRun(run), records.length);
          assert.deepStrictEqual(await store.readSlots(run.id, 0, records.length), records);
          const [from, to] = range;
          assert.deepStrictEqual(await store.readSlots(run.id, from, to), records.slice(from, to));
        }),
        propertyOptions(0.25),
      );
    });

    it("rejects a gap or a repeat, naming both numbers, and writes nothing", async () => {
      const run = newRun(["alice", "bob"]);
      await store.openRun(run);
      await store.appendSlots(run.id, sampleSlots(run.householdIds, 0, 3));
      await assert.rejects(
        store.appendSlots(run.id, sampleSlots(run.householdIds, 4, 2)),
        /run run-\d+: cannot append slots 4\.\.5: 3 slots are stored, so the next must be slot 3/,
      );
      await assert.rejects(
        store.appendSlots(run.id, sampleSlots(run.householdIds, 2, 2)),
        /cannot append slots 2\.\.3: 3 slots are stored/,
      );
      const skipping = [...sampleSlots(run.householdIds, 3, 1), ...sampleSlots(run.householdIds, 5, 1)];
      await assert.rejects(store.appendSlots(run.id, skipping), /slot 4 is followed by the index 5/);
      assert.equal(await store.openRun(run), 3);
      assert.deepStrictEqual(await store.readSlots(run.id, 0, 3), sampleSlots(run.householdIds, 0, 3));
    });

    it("returns the number of stored slots from openRun, also after the store is reopened", async () => {
      const run = newRun(["alice", "bob", "hospital"]);
      const other = newRun(["carol"]);
      assert.equal(await store.openRun(run), 0);
      assert.equal(await store.openRun(other), 0);
      await store.appendSlots(run.id, sampleSlots(run.householdIds, 0, 2));
      await store.appendSlots(run.id, sampleSlots(run.householdIds, 2, 3));
      await store.appendSlots(other.id, sampleSlots(other.householdIds, 0, 1));
      assert.equal(await store.openRun(run), 5);
      await store.close();
      store = await open();
      assert.equal(await store.openRun(run), 5);
      assert.equal(await store.openRun(other), 1);
      assert.deepStrictEqual(await store.readSlots(run.id, 0, 5), sampleSlots(run.householdIds, 0, 5));
      await store.appendSlots(run.id, sampleSlots(run.householdIds, 5, 1));
      assert.equal(await store.openRun(run), 6);
    });

    it("rejects a run resumed with another description, naming what differs", async () => {
      const run = newRun(["alice", "bob"]);
      await store.openRun(run);
      await assert.rejects(
        store.openRun({ ...run, scenario: "other", seed: 1 }),
        new RegExp(
          `run ${run.id} was started with the scenario "contract" \\(given "other"\\), the seed 20261124 \\(given 1\\):`,
        ),
      );
      await assert.rejects(store.openRun({ ...run, config: { days: 2 } }), /was started with another config/);
      await assert.rejects(
        store.openRun({ ...run, householdIds: ["bob", "alice"] }),
        /was started with other households/,
      );
      const reordered = { tariff: { retail: 2000, feedIn: 500 }, engine: "reference", days: 1 };
      assert.equal(await store.openRun({ ...run, config: reordered }), 0, "key order is not a difference");
    });

    it("refuses runs that were never opened", async () => {
      const never = "never-opened";
      await assert.rejects(
        store.appendSlots(never, sampleSlots(["alice"], 0, 1)),
        /run never-opened does not exist/,
      );
      await assert.rejects(store.readSlots(never, 0, 0), /run never-opened does not exist/);
      await assert.rejects(store.saveStatements(never, "2026-06", []), /run never-opened does not exist/);
      await assert.rejects(store.readStatements(never, "2026-06"), /run never-opened does not exist/);
    });

    it("reads only ranges of stored slots", async () => {
      const run = newRun(["alice"]);
      await store.openRun(run);
      await store.appendSlots(run.id, sampleSlots(run.householdIds, 0, 2));
      assert.deepStrictEqual(await store.readSlots(run.id, 1, 1), []);
      await assert.rejects(store.readSlots(run.id, 1, 3), /cannot read slots \[1, 3\): 2 slots are stored/);
      await assert.rejects(store.readSlots(run.id, 2, 1), /cannot read slots \[2, 1\)/);
    });

    it("stores a batch atomically: a bad record anywhere writes none of it", async () => {
      const run = newRun(["alice", "bob"]);
      await store.openRun(run);
      const good = sampleSlots(run.householdIds, 0, 4);
      const badValue = withHousehold(good[3] as SlotRecord, 1, (household) => ({
        ...household,
        bill: { ...household.bill, networkFeeMoney: 1.5 },
      }));
      await assert.rejects(
        store.appendSlots(run.id, [...good.slice(0, 3), badValue]),
        new RegExp(`run ${run.id} slot 3: network_fee_money of bob is 1.5, not a safe integer`),
      );
      const badHousehold = withHousehold(good[3] as SlotRecord, 0, (household) => ({
        ...household,
        id: "mallory",
      }));
      await assert.rejects(
        store.appendSlots(run.id, [...good.slice(0, 3), badHousehold]),
        /slot 3: household 0 is "mallory" with the bill of "alice", but the run has "alice" there/,
      );
      // The database itself refuses this one, after the first INSERT of the batch (more slots than the
      // 65,535 parameters of one statement) went in: the transaction must take that back too.
      const many = sampleSlots(run.householdIds, 0, 2500);
      const last = many[many.length - 1] as SlotRecord;
      many[many.length - 1] = { ...last, slot: "2026-06-01T00:00:00Z\u0000" };
      await assert.rejects(
        store.appendSlots(run.id, many),
        new RegExp(`run ${run.id}: storing slots 0\\.\\.2499 failed`),
      );
      assert.equal(await store.openRun(run), 0);
      await store.appendSlots(run.id, good);
      assert.deepStrictEqual(await store.readSlots(run.id, 0, 4), good);
    });

    it("stores statements with bigint money exactly, and a save replaces the period's statements", async () => {
      const run = newRun(["alice", "bob"]);
      await store.openRun(run);
      const beyondInt64 = 2n ** 70n + 3n;
      const june = [
        sampleStatement("alice", 2n ** 53n + 1n),
        sampleStatement("bob", -(2n ** 62n) - 5n),
        sampleStatement("hospital", beyondInt64),
      ];
      const july = [sampleStatement("bob", -7n)];
      await store.saveStatements(run.id, "2026-06", june);
      await store.saveStatements(run.id, "2026-07", july);
      assert.deepStrictEqual(await store.readStatements(run.id, "2026-06"), june);
      const juneAgain = [sampleStatement("bob", 12n)];
      await store.saveStatements(run.id, "2026-06", juneAgain);
      assert.deepStrictEqual(await store.readStatements(run.id, "2026-06"), juneAgain);
      assert.deepStrictEqual(await store.readStatements(run.id, "2026-07"), july);
      assert.deepStrictEqual(await store.readStatements(run.id, "2026-08"), []);
    });
  });
}

/**
 * Checks that a store refuses a database whose schema is newer than it knows, written through the
 * driver underneath (a store never writes another version).
 */
export async function assertRefusesNewerSchema(
  openDriver: () => Promise<SqlDriver>,
  open: () => Promise<RunStore>,
): Promise<void> {
  const driver = await openDriver();
  try {
    await prepareSchema(driver);
    await driver.query("UPDATE snippet.schema_version SET version = version + 1");
  } finally {
    await driver.close();
  }
  await assert.rejects(
    open(),
    /the database has run store schema version 2, and this snippet knows only version 1: upgrade snippet/,
  );
}

/**
 * Deterministic slots `from .. from + count − 1` with values of a real run's magnitudes: every kind of
 * household (no order, buy, sell, with bilateral commitments and a zone price), zones on even slots.
 */
export function sampleSlots(householdIds: readonly string[], from: number, count: number): SlotRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const index = from + k;
    const households = householdIds.map((id, position): HouseholdSlotRecord => {
      const mix = (index * 7919 + position * 104_729) % 10_007;
      const importWh = mix % 1800;
      const exportWh = (mix * 31) % 2500;
      const side = mix % 3 === 0 ? null : mix % 3 === 1 ? ("buy" as const) : ("sell" as const);
      const bilateral: BilateralCommitment[] =
        mix % 5 === 0
          ? [
              {
                partner: householdIds[0] ?? id,
                side: "buy",
                volumeWh: mix % 400,
                price: mix % 7 === 0 ? 0 : 900,
              },
            ]
          : [];
      return {
        id,
        order: side === null ? null : { side, volumeWh: 1 + (mix % 3000), limitPrice: 500 + (mix % 1500) },
        committed: {
          communityBuyWh: side === "buy" ? mix % 1200 : 0,
          communitySellWh: side === "sell" ? mix % 1500 : 0,
          ...(mix % 11 === 0 ? { communityPrice: 1200 } : {}),
          bilateral,
          supplierBuyWh: side === "buy" ? mix % 300 : 0,
          supplierSellWh: side === "sell" ? mix % 200 : 0,
        },
        metered: { importWh, exportWh },
        bill: {
          id,
          deviationWh: exportWh - importWh,
          money: importWh * 2000 - exportWh * 500,
          communityMoney: (mix % 1200) * 1100,
          bilateralMoney: bilateral.length * 900 * (mix % 400),
          supplierMoney: (mix % 300) * 2000,
          networkFeeMoney: bilateral.length * 300,
          deviationMoney: (importWh - exportWh) * 1100,
          plainTariffMoney: side === null ? importWh * 2000 - exportWh * 500 : 0,
        },
      };
    });
    const zones: ZoneOutcome[] = [
      { id: "north", clearingPrice: index % 4 === 0 ? null : 1300, netExportWh: 450 - (index % 900) },
    ];
    return {
      index,
      slot: new Date(Date.UTC(2026, 5, 1) + index * 900_000).toISOString(),
      prices: { feedIn: 500, retail: 2000, networkFee: 300 },
      clearingPrice: index % 4 === 0 ? null : 1100 + (index % 300),
      communityVolumeWh: (index * 37) % 90_000,
      bilateral: index % 3 === 0 ? [] : [{ seller: "alice", buyer: "hospital", volumeWh: 500, price: 0 }],
      ...(index % 2 === 0 ? { zones } : {}),
      households,
    };
  });
}

function withHousehold(
  record: SlotRecord,
  position: number,
  change: (household: HouseholdSlotRecord) => HouseholdSlotRecord,
): SlotRecord {
  return {
    ...record,
    households: record.households.map((household, k) => (k === position ? change(household) : household)),
  };
}

function sampleStatement(id: string, bigMoney: bigint): Statement {
  const money = (amount: bigint) => amount as Money;
  return {
    id,
    slots: 2976,
    energy: {
      communityBoughtWh: 120_000,
      communitySoldWh: 0,
      bilateralBoughtWh: 3000,
      bilateralSoldWh: 0,
      donatedWh: 0,
      donationsReceivedWh: 500,
      supplierBoughtWh: 2 ** 53 - 1,
      supplierSoldWh: 0,
      importedWh: 140_000,
      exportedWh: 15_000,
      deviationWh: -(2 ** 40),
    },
    money: {
      community: money(bigMoney),
      bilateral: money(-bigMoney),
      supplier: money(0n),
      networkFees: money(900n),
      deviationCharges: money(-42n),
      plainTariff: money(1n),
      total: money(bigMoney * 3n),
    },
    plainTariffBaseline: money(bigMoney * 5n),
    savingMoney: money(bigMoney * 2n),
  };
}

/** Any safe integer, with the small ones (and 0) often. */
const integer = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger());
const price = fc.integer({ min: 0, max: PRICE_GRID_MAX });
const text = fc.string({ maxLength: 8 });
/** Records read back are plain objects, so the generated ones must be too. */
const plain = { noNullPrototype: true } as const;

function randomHousehold(id: string): fc.Arbitrary<HouseholdSlotRecord> {
  const commitment: fc.Arbitrary<BilateralCommitment> = fc.record(
    {
      partner: text,
      side: fc.constantFrom("buy", "sell"),
      volumeWh: integer,
      price: integer,
    },
    plain,
  );
  return fc
    .record(
      {
        order: fc.option(
          fc.record({ side: fc.constantFrom("buy", "sell"), volumeWh: integer, limitPrice: integer }, plain),
        ),
        committed: fc.record(
          {
            communityBuyWh: integer,
            communitySellWh: integer,
            communityPrice: integer,
            bilateral: fc.array(commitment, { maxLength: 2 }),
            supplierBuyWh: integer,
            supplierSellWh: integer,
          },
          {
            ...plain,
            requiredKeys: [
              "communityBuyWh",
              "communitySellWh",
              "bilateral",
              "supplierBuyWh",
              "supplierSellWh",
            ],
          },
        ),
        metered: fc.record({ importWh: integer, exportWh: integer }, plain),
        bill: fc.record(
          {
            deviationWh: integer,
            money: integer,
            communityMoney: integer,
            bilateralMoney: integer,
            supplierMoney: integer,
            networkFeeMoney: integer,
            deviationMoney: integer,
            plainTariffMoney: integer,
          },
          plain,
        ),
      },
      plain,
    )
    .map(({ order, committed, metered, bill }) => ({ id, order, committed, metered, bill: { id, ...bill } }));
}

function randomSlot(householdIds: readonly string[]): fc.Arbitrary<Omit<SlotRecord, "index">> {
  const trade: fc.Arbitrary<BilateralTrade> = fc.record(
    {
      seller: text,
      buyer: text,
      volumeWh: integer,
      price,
    },
    plain,
  );
  const zone: fc.Arbitrary<ZoneOutcome> = fc.record(
    {
      id: text,
      clearingPrice: fc.option(price),
      netExportWh: integer,
    },
    plain,
  );
  return fc.record(
    {
      slot: text,
      prices: fc.record({ feedIn: price, retail: price, networkFee: price }, plain),
      clearingPrice: fc.option(price),
      communityVolumeWh: fc.maxSafeNat(),
      bilateral: fc.array(trade, { maxLength: 3 }),
      zones: fc.array(zone, { maxLength: 2 }),
      households: fc.tuple(...householdIds.map(randomHousehold)),
    },
    {
      ...plain,
      requiredKeys: ["slot", "prices", "clearingPrice", "communityVolumeWh", "bilateral", "households"],
    },
  );
}

/** A run's households and slots, where to split them into two appends, and a range to read back. */
function randomRun(): fc.Arbitrary<{
  householdIds: string[];
  records: SlotRecord[];
  split: number;
  range: [number, number];
}> {
  return fc
    .uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 5 })
    .chain((householdIds) =>
      fc.record({
        householdIds: fc.constant(householdIds),
        records: fc
          .array(randomSlot(householdIds), { minLength: 1, maxLength: 6 })
          .map((slots) => slots.map((slot, index) => ({ index, ...slot }))),
        cuts: fc.tuple(fc.nat(), fc.nat(), fc.nat()),
      }),
    )
    .map(({ householdIds, records, cuts: [split, a, b] }) => {
      const [from, to] = [a % (records.length + 1), b % (records.length + 1)].sort((x, y) => x - y) as [
        number,
        number,
      ];
      return { householdIds, records, split: split % (records.length + 1), range: [from, to] };
    });
}
