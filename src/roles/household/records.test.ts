import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type PostgresTestServer,
  startPostgresTestServer,
} from "../../../test/support/postgres-test-server.ts";
import { openPgliteDriver } from "../../store/pglite.ts";
import {
  type HouseholdRecords,
  type KeptChange,
  type KeptSlot,
  KeptWriter,
  type OwnSlotRecord,
  openHouseholdRecords,
  readOwnRecords,
  type SlotLearned,
} from "./records.ts";

const PRICES = { feedIn: 800, retail: 3200, networkFee: 700 };
const slotOf = (index: number) => new Date(Date.UTC(2026, 5, 1, 10) + index * 900_000).toISOString();

function planned(household: string, index: number): Extract<KeptChange, { kind: "planned" }> {
  return {
    kind: "planned",
    household,
    index,
    slot: slotOf(index),
    prices: PRICES,
    intent: {
      id: household,
      side: index % 2 === 0 ? "sell" : "buy",
      volumeWh: 100 + index,
      limitPrice: 1400,
      zone: "north",
      offers: [{ partner: "h9", price: 0, capWh: 50 }],
      community: true,
    },
  };
}

/** What a household learns: a zone of its own price, a donation, an order after the bilateral stage. */
const LEARNED: SlotLearned = {
  figures: {
    clearingPrice: 1500,
    communityVolumeWh: 1234,
    zones: [
      { id: "north", clearingPrice: 1450, netExportWh: -300 },
      { id: "south", clearingPrice: null, netExportWh: 0 },
    ],
  },
  order: { side: "sell", volumeWh: 60, limitPrice: 1400 },
  committed: {
    communityBuyWh: 0,
    communitySellWh: 40,
    communityPrice: 1450,
    bilateral: [{ partner: "h9", side: "sell", volumeWh: 50, price: 0 }],
    supplierBuyWh: 0,
    supplierSellWh: 20,
  },
};

function recordOf(household: string, index: number): OwnSlotRecord {
  return {
    index,
    slot: slotOf(index),
    prices: PRICES,
    ...LEARNED.figures,
    own: {
      id: household,
      order: LEARNED.order,
      committed: LEARNED.committed,
      metered: { importWh: 0, exportWh: 95 },
      bill: {
        id: household,
        deviationWh: -15,
        money: -123_456,
        communityMoney: -58_000,
        bilateralMoney: 0,
        supplierMoney: -16_000,
        networkFeeMoney: 0,
        deviationMoney: -49_456,
        plainTariffMoney: 0,
      },
    },
  };
}

/** Every step of a slot, in order. */
function allSteps(household: string, index: number): KeptChange[] {
  return [
    planned(household, index),
    { kind: "sent", household, index },
    { kind: "learned", household, index, learned: LEARNED },
    { kind: "recorded", household, index, record: recordOf(household, index) },
  ];
}

function keptOf(household: string, index: number, steps: number): KeptSlot {
  const { slot, prices, intent } = planned(household, index);
  return {
    index,
    slot,
    prices,
    intent,
    sent: steps >= 2,
    learned: steps >= 3 ? LEARNED : null,
    record: steps >= 4 ? recordOf(household, index) : null,
  };
}

/** The contract of the household records, for the store `open` gives (the same database on every call). */
function householdRecordsContract(name: string, open: () => Promise<HouseholdRecords>, target: () => string) {
  describe(`household records: ${name}`, () => {
    let records: HouseholdRecords;
    before(async () => {
      records = await open();
    });
    after(() => records.close());

    it("keep each step of a slot as written, per household in slot order, across a reopen", async () => {
      // h1's slots arrive out of order and step by step, interleaved with h2's.
      for (const change of allSteps("h1", 1)) await records.write([change]);
      await records.write([planned("h1", 0), ...allSteps("h2", 0).slice(0, 3)]);
      await records.write([{ kind: "sent", household: "h1", index: 0 }, planned("h1", 2)]);
      const expected = new Map([
        ["h1", [keptOf("h1", 0, 2), keptOf("h1", 1, 4), keptOf("h1", 2, 1)]],
        ["h2", [keptOf("h2", 0, 3)]],
      ]);
      assert.deepStrictEqual(await records.read(["h1", "h2", "nobody"]), expected);
      await records.close();
      records = await open();
      assert.deepStrictEqual(await records.read(), expected);
      assert.deepStrictEqual([...(await records.read(["h2"])).keys()], ["h2"]);
    });

    it("refuse a step out of order, naming the household and slot, and write nothing of its batch", async () => {
      await records.write([planned("h3", 0)]);
      const refusals: [KeptChange, RegExp][] = [
        [planned("h3", 0), /slot 0 of h3 is already planned/],
        [{ kind: "sent", household: "h3", index: 7 }, /slot 7 of h3 is not planned, or already sent/],
        [
          { kind: "recorded", household: "h3", index: 0, record: recordOf("h3", 0) },
          /slot 0 of h3 is not learned yet, or already recorded/,
        ],
      ];
      for (const [change, reason] of refusals)
        await assert.rejects(records.write([planned("h3", 1), change]), reason);
      await records.write([{ kind: "learned", household: "h3", index: 0, learned: LEARNED }]);
      await assert.rejects(
        records.write([{ kind: "learned", household: "h3", index: 0, learned: LEARNED }]),
        /slot 0 of h3 is not planned, or already learned/,
      );
      assert.deepStrictEqual((await records.read(["h3"])).get("h3"), [
        { ...keptOf("h3", 0, 1), learned: LEARNED },
      ]);
    });

    it("give the billed slots' records to readOwnRecords, per household", async () => {
      await records.write([...allSteps("h4", 0), ...allSteps("h4", 1), planned("h4", 2)]);
      // The store is one process's: the reader opens it after the household closed it.
      await records.close();
      const own = await readOwnRecords(target(), ["h4", "h1"]);
      assert.deepStrictEqual(
        own,
        new Map([
          ["h1", [recordOf("h1", 1)]],
          ["h4", [recordOf("h4", 0), recordOf("h4", 1)]],
        ]),
      );
      assert.deepStrictEqual([...(await readOwnRecords(target())).keys()], ["h1", "h2", "h3", "h4"]);
      records = await open();
    });

    it("write many homes' steps in shared transactions, failing only the faulty home's", async () => {
      const writer = new KeptWriter(records);
      const homes = Array.from({ length: 40 }, (_, k) => `w${k}`);
      await Promise.all(homes.map((home) => writer.write(planned(home, 0))));
      const results = await Promise.allSettled([
        ...homes.map((home) => writer.write({ kind: "sent", household: home, index: 0 })),
        writer.write({ kind: "sent", household: "w3", index: 1 }),
      ]);
      assert.deepEqual(
        results.map((result) => result.status),
        [...homes.map(() => "fulfilled"), "rejected"],
      );
      await writer.idle();
      const kept = await records.read(homes);
      assert.ok(homes.every((home) => kept.get(home)?.[0]?.sent === true));
    });
  });
}

const work = mkdtempSync(join(tmpdir(), "snippet-household-records-"));
after(() => rmSync(work, { recursive: true, force: true }));
const folder = join(work, "records");
householdRecordsContract(
  "PGlite",
  () => openHouseholdRecords(folder),
  () => folder,
);

// Fails, never skips, without the server binaries (see postgres-test-server.ts).
let server: PostgresTestServer;
let url = "";
before(async () => {
  server = await startPostgresTestServer();
  url = await server.createDatabase("household");
});
after(() => server?.stop());
householdRecordsContract(
  "PostgreSQL",
  () => openHouseholdRecords(url),
  () => url,
);

describe("opening household records", () => {
  it("says which store cannot be opened, and why", async () => {
    const held = await openHouseholdRecords(join(work, "locked"));
    try {
      await assert.rejects(
        openHouseholdRecords(join(work, "locked")),
        (error: Error) =>
          error.name === "OperationalError" &&
          /^the household records .*locked cannot be opened: PGlite store .* is open in process \d+/.test(
            error.message,
          ),
      );
    } finally {
      await held.close();
    }
    await assert.rejects(
      openHouseholdRecords("postgresql://snippet:secret@127.0.0.1:1/homes"),
      /the household records postgresql:\/\/snippet:\*\*\*@127\.0\.0\.1:1\/homes cannot be opened: .*ECONNREFUSED/,
    );
  });

  it("refuses records of a newer version", async () => {
    const dir = join(work, "newer");
    await (await openHouseholdRecords(dir)).close();
    const driver = await openPgliteDriver(dir);
    await driver.query("UPDATE snippet_household.schema_version SET version = 2");
    await driver.close();
    await assert.rejects(
      openHouseholdRecords(dir),
      /cannot be opened: they are of version 2, and this snippet knows version 1 only/,
    );
  });
});
