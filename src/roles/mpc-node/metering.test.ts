import assert from "node:assert/strict";
import { type KeyObject, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type BillingSlot, billSlot, estimatedReading } from "../../billing/index.ts";
import { billOutputsOf, prepareBill } from "../../private/billing/encode.ts";
import type { BillPublic } from "../../private/billing/program.ts";
import {
  DSO_ID,
  generateRegistry,
  meterIdOf,
  OPERATOR_ID,
  privateKeyOf,
  signerOf,
} from "../../private/registry.ts";
import { closeMetering, closePeriod } from "../broker/close.ts";
import { meterTotals } from "../dso/totals.ts";
import { ownReadings, ownSlotBills, periodBills } from "../household/figures.ts";
import { sendReading } from "../meter/readings.ts";
import { JobError, NodeClient } from "./client.ts";
import { type LocalCluster, startLocalCluster } from "./local-cluster.ts";
import { signRequest } from "./signed-request.ts";

const SLOT = "2026-06-01T12:00:00Z";
/**
 * h0 and h2 in zone z0 with supplier s0; h1 in z1 with s1, whose meter reads more than its trading
 * cap lets it trade but less than its 25 A fuse carries; h3 in z1 with s0, whose meter stays silent;
 * h4 in z1 with s1, whose meter reads more than its connection can physically carry.
 */
const REGISTRY = generateRegistry({
  households: [
    { id: "h0", zone: "z0", supplier: "s0" },
    { id: "h1", zone: "z1", supplier: "s1", connectionCapWh: 600, physicalCapacityWh: 4312 },
    { id: "h2", zone: "z0", supplier: "s0" },
    { id: "h3", zone: "z1", supplier: "s0" },
    { id: "h4", zone: "z1", supplier: "s1", physicalCapacityWh: 2500 },
  ],
  minGroupMeters: 2,
});
const signer = (party: string) => signerOf(REGISTRY.keys, party);
const meter = (household: string) => ({
  id: meterIdOf(household),
  key: privateKeyOf(REGISTRY.keys, "meters", meterIdOf(household)),
});

/** The slot as billing sees it: everyone committed with the community or the supplier. */
const slot: BillingSlot = {
  slot: SLOT,
  prices: { feedIn: 500, retail: 2800, networkFee: 350 },
  clearingPrice: 1500,
  households: [
    {
      id: "h0",
      committed: {
        communityBuyWh: 0,
        communitySellWh: 800,
        bilateral: [],
        supplierBuyWh: 0,
        supplierSellWh: 0,
      },
      metered: { importWh: 0, exportWh: 650 },
    },
    {
      id: "h1",
      committed: {
        communityBuyWh: 500,
        communitySellWh: 0,
        bilateral: [],
        supplierBuyWh: 100,
        supplierSellWh: 0,
      },
      metered: { importWh: 700, exportWh: 0 },
      physicalCapacityWh: 4312,
    },
    {
      id: "h2",
      committed: {
        communityBuyWh: 300,
        communitySellWh: 0,
        bilateral: [],
        supplierBuyWh: 0,
        supplierSellWh: 0,
      },
      metered: { importWh: 280, exportWh: 0 },
    },
    {
      id: "h3",
      committed: {
        communityBuyWh: 0,
        communitySellWh: 0,
        bilateral: [],
        supplierBuyWh: 90,
        supplierSellWh: 0,
      },
      metered: { importWh: 400, exportWh: 0 },
    },
    {
      id: "h4",
      committed: {
        communityBuyWh: 0,
        communitySellWh: 0,
        bilateral: [],
        supplierBuyWh: 600,
        supplierSellWh: 0,
      },
      metered: { importWh: 9000, exportWh: 0 },
      physicalCapacityWh: 2500,
    },
  ],
};
const readingOf = (id: string) =>
  slot.households.find((h) => h.id === id)?.metered ?? { importWh: 0, exportWh: 0 };

describe("metering and billing on running nodes, each party getting its own figures only", () => {
  let cluster: LocalCluster;
  let client: NodeClient;
  before(async () => {
    cluster = await startLocalCluster({ registry: REGISTRY });
    client = await NodeClient.connect(cluster.config);
  });
  after(async () => {
    client.close();
    await cluster.stop();
  });

  it("take each meter's sealed reading once, refusing forged and replayed ones with the reason", async () => {
    for (const household of ["h0", "h1", "h2", "h4"])
      assert.equal(await sendReading(client, meter(household), SLOT, readingOf(household)), null);
    const forged = await sendReading(client, { ...meter("h3"), key: meter("h0").key }, SLOT, readingOf("h3"));
    assert.match(forged ?? "", /node 0: is not signed by meter-h3/);
    assert.match(
      (await sendReading(client, meter("h0"), SLOT, readingOf("h0"))) ?? "",
      /meter meter-h0 already reported slot/,
    );
    await assert.rejects(
      meterTotals(client, SLOT, "zone", signer(DSO_ID)),
      /metering of slot .* is not closed/,
    );
  });

  it("close a slot's metering for the operator only, naming the meters that did not report and the readings refused as implausible", async () => {
    await assert.rejects(
      closeMetering(client, SLOT, signer("h0")),
      /only the operator closes a slot's metering/,
    );
    const closed = await closeMetering(client, SLOT, signer(OPERATOR_ID));
    assert.deepEqual(closed, {
      slot: SLOT,
      reported: 3,
      missing: [meterIdOf("h3")],
      implausible: [
        {
          meter: meterIdOf("h4"),
          reason: "the reading is above the connection's physical capacity of 2500 Wh for the slot",
        },
      ],
      late: [],
    });
    assert.match(
      (await sendReading(client, meter("h3"), SLOT, readingOf("h3"))) ?? "",
      /is closed: the reading came late/,
    );
  });

  it("give the DSO its zones' totals and a supplier its portfolio's, withholding groups too small to hide a reading", async () => {
    assert.deepEqual(await meterTotals(client, SLOT, "zone", signer(DSO_ID)), [
      { id: "z0", meters: 2, totals: { importWh: 280, exportWh: 650 } },
      { id: "z1", meters: 1, totals: null },
    ]);
    assert.deepEqual(await meterTotals(client, SLOT, "supplier", signer("s0")), [
      { id: "s0", meters: 2, totals: { importWh: 280, exportWh: 650 } },
    ]);
    assert.deepEqual(await meterTotals(client, SLOT, "supplier", signer("s1")), [
      { id: "s1", meters: 1, totals: null },
    ]);
    assert.deepEqual(
      await ownReadings(client, [SLOT], signer("h1")),
      [readingOf("h1")],
      "its reading above its trading cap stands",
    );
    assert.deepEqual(await ownReadings(client, [SLOT], signer("h3")), [null]);
    assert.deepEqual(await ownReadings(client, [SLOT], signer("h4")), [null], "its reading was refused");
  });

  it("refuse unsigned, forged, stale and replayed requests and parties asking for others' figures", async () => {
    const run = (program: string, params: Record<string, unknown>, header: Record<string, unknown>) =>
      client.exchange(
        [0, 1, 2].map(() => ({
          header: { type: "job", job: header.job, program, params, ...header },
          body: new Uint8Array(0),
        })) as never,
        `job ${header.job as string}`,
        program,
      );
    const params = { slot: SLOT, by: "zone" };
    const signed = (party: string, key: KeyObject, issuedAt = Date.now()) => {
      const job = randomUUID();
      return { job, auth: signRequest({ job, program: "meter-totals", params }, party, key, issuedAt) };
    };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ job: randomUUID() }, /the request is not signed: this node serves registered parties only/],
      [signed(DSO_ID, signer("h0").key), /the request is not signed by dso/],
      [signed("stranger", signer(DSO_ID).key), /party stranger is not registered/],
      [
        signed(DSO_ID, signer(DSO_ID).key, Date.now() - 3_600_000),
        /was signed 3600 s ago, beyond the 300 s it is good for/,
      ],
      [signed("h0", signer("h0").key), /only the DSO asks totals by zone/],
      [{ ...signed(DSO_ID, signer(DSO_ID).key), job: "another-job" }, /the request is not signed by dso/],
    ];
    for (const [header, reason] of cases) await assert.rejects(run("meter-totals", params, header), reason);
    const once = signed(DSO_ID, signer(DSO_ID).key);
    await run("meter-totals", params, once);
    await assert.rejects(run("meter-totals", params, once), /was already taken: a replay/);
    await assert.rejects(ownReadings(client, [SLOT], signer(DSO_ID)), /only a household with a meter/);
  });

  it("bill the slot from the meters' readings: the operator learns the aggregates, each household its own bill", async () => {
    const prepared = prepareBill([slot], "ucs-proportional", { metered: true });
    await assert.rejects(
      client.run("bill", prepared.params, prepared.inputs, { signer: signer("s0") }),
      /only the operator bills from the meters' readings/,
    );
    const supplied = prepareBill([slot], "ucs-proportional");
    await assert.rejects(
      client.run("bill", supplied.params, supplied.inputs, { signer: signer("h0") }),
      /only the operator or a supplier bills from its own data on this node/,
    );
    assert.deepEqual(await ownSlotBills(client, [SLOT], signer("h0")), [null], "not billed yet");
    const outcome = await client.run("bill", prepared.params, prepared.inputs, {
      signer: signer(OPERATOR_ID),
    });
    // What the operator holds: no output share, and only the slot's aggregates in the clear.
    assert.equal(outcome.outputs.length, 0);
    const published = outcome.public as BillPublic;
    assert.deepEqual(Object.keys(published).sort(), ["estimated", "implausible", "slots"]);
    assert.deepEqual(Object.keys(published.slots[0] ?? {}).sort(), [
      "sharedWh",
      "sharers",
      "totalDeviationWh",
    ]);
    assert.deepEqual(published.estimated, [["h3", "h4"]]);
    // h3's meter was silent, h4's reading refused: both are billed at their committed position,
    // h4's as the reference bills it.
    const expected = billSlot(
      {
        ...slot,
        households: slot.households.map((h) =>
          h.id === "h3" ? { ...h, metered: estimatedReading(h.committed) } : h,
        ),
      },
      "ucs-proportional",
    );
    assert.deepEqual(published.implausible, [expected.implausible]);
    assert.deepEqual(
      expected.implausible.map((reading) => reading.id),
      ["h4"],
    );
    // h1 read 100 Wh more than it could trade, within its fuse: billed as read, deviation and all.
    assert.equal(expected.bills.find((bill) => bill.id === "h1")?.deviationWh, -100);
    // Each household fetches its own bill, signing its request: no one else can.
    const rows = await Promise.all(
      slot.households.map(
        async ({ id }) => (await ownSlotBills(client, [SLOT], signer(id)))[0] as BigUint64Array,
      ),
    );
    assert.deepEqual(prepared.finish(published, billOutputsOf(rows))[0]?.bills, expected.bills);
    for (const party of ["s0", DSO_ID, OPERATOR_ID])
      await assert.rejects(
        ownSlotBills(client, [SLOT], signer(party)),
        /only a household asks for its slot bills/,
      );
    await assert.rejects(
      client.run("bill", prepared.params, prepared.inputs, { signer: signer(OPERATOR_ID) }),
      /slot 2026-06-01T12:00:00Z is billed already/,
    );

    // The period's bills: to a supplier its customers', to a household its own, once the period is closed.
    await assert.rejects(
      periodBills(client, "2026-06", signer("s0")),
      /billing period 2026-06 is not closed/,
    );
    await assert.rejects(
      closePeriod(client, "2026-06", signer(DSO_ID)),
      /only the operator closes a billing period/,
    );
    await closePeriod(client, "2026-06", signer(OPERATOR_ID));
    const billOf = (id: string) => {
      const bill = expected.bills.find((b) => b.id === id);
      assert.ok(bill !== undefined);
      const { money, deviationWh, deviationMoney, plainTariffMoney } = bill;
      return { household: id, money, deviationWh, deviationMoney, plainTariffMoney };
    };
    assert.deepEqual(await periodBills(client, "2026-06", signer("s0")), ["h0", "h2", "h3"].map(billOf));
    assert.deepEqual(await periodBills(client, "2026-06", signer("h1")), [billOf("h1")]);
    assert.deepEqual(await periodBills(client, "2026-06", signer("s1")), ["h1", "h4"].map(billOf));
    await assert.rejects(periodBills(client, "2026-06", signer(DSO_ID)), /only a supplier or a household/);
    await assert.rejects(
      client.run(
        "bill",
        prepareBill([{ ...slot, slot: "2026-06-01T12:15:00Z" }], "ucs-uniform", { metered: true }).params,
        prepared.inputs,
        {
          signer: signer(OPERATOR_ID),
        },
      ),
      /metering of slot 2026-06-01T12:15:00Z is not closed/,
    );
  });

  it("answer a reading that names no meter as unreadable, and keep serving", async () => {
    const bad = await NodeClient.connect(cluster.config);
    try {
      await assert.rejects(
        bad.exchange(
          [0, 1, 2].map(() => ({
            header: { type: "reading", reading: 7 },
            body: new Uint8Array(0),
          })) as never,
          "never",
          "a bad reading",
        ),
        (error: unknown) =>
          error instanceof JobError && /bad reading: it names no meter and slot/.test(error.message),
      );
    } finally {
      bad.close();
    }
    assert.equal(
      await sendReading(client, meter("h0"), "2026-06-01T12:30:00Z", { importWh: 1, exportWh: 0 }),
      null,
    );
  });
});
