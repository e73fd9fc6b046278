import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MemoryRunStore } from "../../test/support/memory-store.ts";
import type { SlotRecord } from "../billing/record.ts";
import { seededRandom, syntheticProfiles } from "../profiles/index.ts";
import { SIMULATION_BILLING_MODEL, timeGridOf } from "../sim/community.ts";
import { runSimulation } from "../sim/run.ts";
import { loadScenario } from "../sim/scenarios.ts";
import { auditLedger } from "./audit.ts";
import { LedgerRun, type LedgerRunOptions, openLedger, settlePeriods } from "./community.ts";
import { disputeSlot, type OwnSlot, verifyHousehold } from "./household.ts";

const FAULT_SLOT = "2026-06-01T12:00:00.000Z";
const FAULT_MONEY = 10_000_000n;
const PREPAID = 5_000_000_000n;

/** The run's records of a household, as its own device keeps them. */
async function* ownSlotsOf(records: readonly SlotRecord[], household: string): AsyncGenerator<OwnSlot> {
  for (const record of records) {
    const own = record.households.find((h) => h.id === household);
    if (own !== undefined) yield { record, own };
  }
}

/** A line of the board's slots.jsonl, as a tamperer edits it. */
interface BoardLine {
  result: { clearingPrice: number | null };
  leaves: string[];
  signatures: string[];
}

describe("a simulated day on the ledger: posting, verification, disputes, settlement and audit", () => {
  const dir = mkdtempSync(join(tmpdir(), "snippet-ledger-"));
  const records: SlotRecord[] = [];
  const scenario = loadScenario("default");
  const households = scenario.households.map((h) => h.id);
  const options: LedgerRunOptions = {
    dir: join(dir, "ledger"),
    households,
    model: SIMULATION_BILLING_MODEL,
    disputeWindowSeconds: 3_600,
    disputeBond: 5_000_000n,
    prepaidMoney: PREPAID,
    run: { db: join(dir, "db"), id: "test" },
    resume: false,
    // The nodes bill alice 1 EUR too much at noon.
    corrupt: (slot, household, line) =>
      slot === FAULT_SLOT && household === "alice"
        ? { ...line, billMoney: line.billMoney + FAULT_MONEY }
        : line,
  };

  before(async () => {
    const ledger = await LedgerRun.start(options);
    try {
      await runSimulation({
        scenario,
        days: 1,
        seed: 3,
        store: new MemoryRunStore(),
        resume: false,
        profiles: syntheticProfiles(
          scenario.households,
          scenario.site,
          timeGridOf(scenario, 1),
          seededRandom(3).fork("profiles"),
        ),
        sinks: [{ add: (record) => void records.push(record) }, ledger],
      });
    } finally {
      await ledger.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("lets every household verify its slots and bill; alice finds the one slot she was overbilled", async () => {
    const opened = await openLedger(options.dir);
    try {
      const alice = await verifyHousehold(opened, "alice", ownSlotsOf(records, "alice"));
      assert.equal(alice.slotsChecked, 96);
      assert.equal(alice.periodsChecked, 1);
      assert.deepEqual(
        alice.findings.map((finding) => finding.record),
        [`slot ${FAULT_SLOT}`],
      );
      assert.match(
        alice.findings[0]?.problem ?? "",
        /^billMoney: the ledger's line says -?\d+, yours -?\d+$/,
      );
      for (const id of households.filter((h) => h !== "alice")) {
        const report = await verifyHousehold(opened, id, ownSlotsOf(records, id));
        assert.deepEqual(report.findings, [], id);
      }
    } finally {
      await opened.close({ save: false });
    }
  });

  it("upholds alice's dispute, rejects bob's, and settles every bill to its true amount", async () => {
    const opened = await openLedger(options.dir);
    try {
      const faultRecord = records.find((record) => record.slot === FAULT_SLOT) as SlotRecord;
      const own = (id: string): OwnSlot => ({
        record: faultRecord,
        own: faultRecord.households.find((h) => h.id === id) as OwnSlot["own"],
      });
      const upheld = await disputeSlot(opened, "alice", own("alice"));
      assert.equal(upheld.upheld, true);
      assert.equal(upheld.upheld && upheld.statedMoney - upheld.correctMoney, FAULT_MONEY);
      assert.equal((await disputeSlot(opened, "bob", own("bob"))).upheld, false);

      const [settlement] = await settlePeriods(opened, { fastForward: true });
      assert.equal(settlement?.settled, households.length);
      const { ledger, deployment } = opened;
      for (const [h, { id, address }] of deployment.households.entries()) {
        const trueBill = records.reduce(
          (sum, record) => sum + BigInt(record.households[h]?.bill.money ?? 0),
          0n,
        );
        const bond = id === "bob" ? BigInt(deployment.disputeBond) : 0n;
        assert.equal(PREPAID - (await ledger.depositOf(address)), trueBill + bond, id);
      }
      assert.deepEqual(
        (await settlePeriods(opened, { fastForward: true }))[0]?.settled,
        0,
        "settled bills are not settled again",
      );
    } finally {
      await opened.close({ save: true });
    }
  });

  it("audits the whole history clean, and names each tampered record of a copied board", async () => {
    const opened = await openLedger(options.dir);
    try {
      const report = await auditLedger(opened);
      assert.deepEqual(report.findings, []);
      assert.deepEqual(
        {
          slots: report.slots,
          periods: report.periods,
          disputes: report.disputes,
          settlements: report.settlements,
        },
        { slots: 96, periods: 1, disputes: { upheld: 1, rejected: 1 }, settlements: households.length },
      );
    } finally {
      await opened.close({ save: false });
    }
    const tampered = join(dir, "tampered");
    cpSync(options.dir, tampered, { recursive: true });
    const slotsPath = join(tampered, "slots.jsonl");
    const lines = readFileSync(slotsPath, "utf8").trimEnd().split("\n");
    const edit = (i: number, change: (entry: BoardLine) => void) => {
      const entry = JSON.parse(lines[i] as string);
      change(entry);
      lines[i] = JSON.stringify(entry);
    };
    edit(10, (entry) => {
      entry.result.clearingPrice = (entry.result.clearingPrice ?? 1000) + 1;
    });
    edit(20, (entry) => {
      entry.leaves[3] = entry.leaves[4] as string;
    });
    edit(30, (entry) => {
      entry.signatures = entry.signatures.slice(0, 1);
    });
    writeFileSync(slotsPath, `${lines.slice(0, 95).join("\n")}\n`);
    const copy = await openLedger(tampered);
    try {
      const findings = (await auditLedger(copy)).findings;
      const named = (index: number) => findings.filter((f) => f.record === `slot ${records[index]?.slot}`);
      assert.match(named(10)[0]?.problem ?? "", /^clearingPrice: the board says \d+, the ledger -?\d+$/);
      assert.deepEqual(
        named(20).map((f) => f.problem),
        ["the published lines do not make the posted root"],
      );
      assert.ok(named(30).some((f) => f.problem === "the board's signatures are not the ones posted"));
      assert.deepEqual(
        named(95).map((f) => f.problem),
        ["posted on the ledger, missing from the board"],
      );
    } finally {
      await copy.close({ save: false });
    }
  });

  it("resumes a run without posting a slot twice", async () => {
    const resumed = await LedgerRun.start({ ...options, resume: true });
    try {
      for (const record of records) await resumed.add(record);
    } finally {
      await resumed.close();
    }
    const opened = await openLedger(options.dir);
    try {
      assert.deepEqual((await auditLedger(opened)).findings, []);
    } finally {
      await opened.close({ save: false });
    }
  });
});
