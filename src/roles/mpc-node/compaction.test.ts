import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { seededWords } from "../../../test/support/mpc.ts";
import { LINE_FIELDS } from "../../ledger/line-fields.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { KeptBills } from "../../private/billing/kept.ts";
import { BILL_OUTPUTS, COMMITMENT_COLUMNS } from "../../private/billing/layout.ts";
import { type StateChange, sharesToText } from "../../private/changes.ts";
import type { Replier } from "../../private/context.ts";
import { generateRegistry, OPERATOR_ID, parseRegistry, signerOf } from "../../private/registry.ts";
import { snippetApplication } from "./application.ts";
import { memoryJournal, type NodeJournal, openNodeJournal } from "./journal.ts";
import type { NodeApplication } from "./node-application.ts";
import { NodeState } from "./node-state.ts";
import { signRequest } from "./signed-request.ts";

const generated = generateRegistry({
  households: ["h0", "h1", "h2", "h3"].map((id, k) => ({ id, zone: `z${k % 2}`, supplier: "s0" })),
});
const registry = parseRegistry(generated.file);
const households = [...registry.meterOf.keys()];
const slotAt = (t: number) => new Date(Date.UTC(2026, 5, 30, 23, 0) + t * 900_000).toISOString();

/** Random shares of `words` values, from a seeded stream. */
function sharesOf(random: (n: number) => BigUint64Array, words: number): Shared {
  return { own: random(words), next: random(words) };
}

/**
 * Drives an application through every kind of change its state knows, from seed `seed`: intents held
 * and slots cleared, readings taken and metering closed (one reading refused), commitments and bills
 * kept (across a month's end, so two periods), and a period closed. A reading is restored as the
 * change its intake records (a real one comes sealed by its meter), and told to `recorded`.
 */
function driveApplication(application: NodeApplication, seed: number, recorded?: StateChange[]): void {
  const random = seededWords(seed);
  const context = application.context("drive", undefined);
  const { intents, meters, bills, commitments } = context;
  assert.ok(intents && meters && bills && commitments);
  for (let t = 0; t < 6; t++) {
    const slot = slotAt(t);
    households.forEach((household, h) => {
      if ((t + h) % 3 === 2) return;
      const held = { shares: sharesOf(random, 5 + h), signature: `sig-${t}-${h}`, household: undefined };
      assert.equal(intents.add(slot, household, held), undefined);
      const meter = registry.meterOf.get(household) as string;
      const reading = { kind: "reading", data: { slot, meter, shares: sharesToText(sharesOf(random, 2)) } };
      assert.ok(meters.restore(reading));
      recorded?.push(reading);
    });
    if (t >= 4) continue;
    const held = intents.close(slot);
    const outputs = new Map([...held.keys()].map((household) => [household, sharesOf(random, 3)]));
    const figures = { slot, prices: { feedIn: 500, retail: 2000 }, clearingPrice: 1200, volumeWh: 300 };
    commitments.keep(slot, outputs, {
      figures,
      refused: [...held.keys()].slice(0, 1),
      leftOut: [],
      columns: sharesOf(random, held.size * COMMITMENT_COLUMNS.length),
    });
    const agreed = new Set(meters.held(slot));
    const refused = new Map([[registry.meterOf.get("h1") as string, "above its physical capacity"]]);
    meters.close(slot, agreed, refused);
    const rows = sharesOf(random, households.length * BILL_OUTPUTS.length);
    // Slot 2 is billed as `bill-slot` bills: with its terms, figures, market and lines.
    if (t < 2) bills.keep(slot, households, rows);
    if (t === 2)
      bills.keep(slot, households, rows, {
        terms: { feedIn: 500, retail: 2000, networkFee: 100, model: "ucs-uniform" },
        figures: {
          slot,
          totalDeviationWh: -12,
          sharers: 1,
          sharedWh: 12,
          estimated: ["h1"],
          implausible: [],
        },
        market: { clearingPrice: 1200, volumeWh: 300 },
        lines: sharesOf(random, households.length * LINE_FIELDS.length),
      });
  }
  bills.closePeriod("2026-06");
}

/** A fresh application that records every change it is told of. */
function recordingApplication(changes: StateChange[] = []): NodeApplication {
  const record = (change: StateChange) => changes.push(change);
  return snippetApplication(1, registry, { intake: record, job: record });
}

function restored(changes: readonly StateChange[]): NodeApplication {
  const application = recordingApplication();
  for (const change of changes) assert.ok(application.restore(change), `restores ${change.kind}`);
  return application;
}

describe("a snapshot of a node's application", () => {
  for (const seed of [1, 2, 3]) {
    it(`restores to the state its journal restores to, and snapshots alike again (seed ${seed})`, () => {
      const journal: StateChange[] = [];
      const original = recordingApplication(journal);
      driveApplication(original, seed, journal);
      const snapshot = original.snapshot();
      const fromSnapshot = restored(snapshot);
      const fromJournal = restored(journal);
      assert.deepEqual(fromSnapshot.snapshot(), snapshot);
      assert.deepEqual(fromJournal.snapshot(), snapshot, "the snapshot is of the state the journal leads to");
      // What the programs read back is the same.
      const read = (application: NodeApplication) => {
        const { intents, meters, bills, commitments } = application.context("read", undefined);
        return [0, 1, 2, 3, 4, 5].map((t) => ({
          held: intents?.keys(slotAt(t)),
          cleared: intents?.isClosed(slotAt(t)),
          readings: meters?.readings(slotAt(t)),
          bills: households.map((household) => bills?.slotBill(slotAt(t), household)),
          lines: households.map((household) => bills?.lineOf(slotAt(t), household)),
          billed: bills?.billedOf(slotAt(t)),
          metering: meters?.closedAnswer(slotAt(t)),
          clearing: commitments?.clearingOf(slotAt(t)),
          commitments: households.map((household) => commitments?.of(slotAt(t), household)),
          sums: [bills?.periodSums("2026-06"), bills?.periodSums("2026-07")],
        }));
      };
      assert.deepEqual(read(fromSnapshot), read(original));
      assert.ok(snapshot.length < journal.length, `${snapshot.length} changes for ${journal.length}`);
    });
  }

  it("keeps a period's sums of slot bills no longer kept", () => {
    const random = seededWords(4);
    const bills = new KeptBills(undefined, 1);
    const first = sharesOf(random, households.length * BILL_OUTPUTS.length);
    const second = sharesOf(random, households.length * BILL_OUTPUTS.length);
    bills.keep(slotAt(1), households, first);
    bills.keep(slotAt(2), households, second);
    const again = new KeptBills(undefined, 1);
    for (const change of bills.snapshot()) assert.ok(again.restore(change));
    assert.equal(again.slotBill(slotAt(1), "h0"), undefined, "the older slot's bills are gone");
    assert.equal(again.isBilled(slotAt(1)), true, "but it stays billed");
    assert.deepEqual(again.periodSums("2026-07"), bills.periodSums("2026-07"));
  });
});

describe("a node's state compacting its journal", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "snippet-compaction-"));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  const operator = signerOf(generated.keys, OPERATOR_ID);
  const load = (journal: NodeJournal) =>
    NodeState.load(journal, (recorder) => snippetApplication(1, registry, recorder), registry, Date.now, {
      minAppendedBytes: 0,
      growth: 1,
    });
  /** A job of the operator's whose id the state takes. */
  const takeJob = (state: NodeState, job: string) => {
    const request = { job, program: "period-close", params: { period: "2026-06" } };
    const auth = signRequest(request, OPERATOR_ID, operator.key, Date.now());
    assert.ok(!("problem" in state.guard.check({ ...request, auth })));
  };

  it("replaces its journal with the state's snapshot, keeping job ids taken, jobs committed and jobs in doubt", async () => {
    const journal = await openNodeJournal(join(folder, "node"), "node-b");
    const state = await load(journal);
    const changes: StateChange[] = [];
    driveApplication(recordingApplication(changes), 5);
    // The same state in the node's: the intents and readings as its clients' messages, the rest as committed jobs.
    state.beginJob();
    takeJob(state, "j1");
    for (const change of changes) state.application.restore(change);
    await state.commitAsLeader("j1");
    state.beginJob();
    state.application.context("j2", undefined).bills?.closePeriod("2026-07");
    assert.equal(await state.prepare("j2"), true);
    const before = state.application.snapshot();
    const started = await state.compactIfDue();
    assert.ok(started !== undefined, "due: something was appended, and the policy's floor is 0");
    await started.standing;
    assert.equal(journal.size().appendedBytes, 0);
    assert.equal(await state.compactIfDue(), undefined, "nothing appended since");
    await journal.close();

    const reopened = await openNodeJournal(join(folder, "node"), "node-b");
    try {
      const restarted = await load(reopened);
      assert.deepEqual(restarted.application.snapshot(), before);
      assert.equal(restarted.hasCommitted("j1"), true);
      assert.deepEqual(restarted.inDoubt, ["j2"], "a prepared job stays in doubt");
      const request = { job: "j1", program: "period-close", params: { period: "2026-06" } };
      const replay = restarted.guard.check({
        ...request,
        auth: signRequest(request, OPERATOR_ID, operator.key, Date.now()),
      });
      assert.ok("problem" in replay && /already taken/.test(replay.problem), "a taken job id stays taken");
      await restarted.decided("j2", true, true);
      assert.equal(restarted.application.context("c", undefined).bills?.isClosed("2026-07"), true);
    } finally {
      await reopened.close();
    }
  });

  it("writes the intents clients sent while it compacts: none lost, none twice", async () => {
    const journal = memoryJournal("node-c");
    const state = await load(journal);
    const random = seededWords(6);
    const hold = (household: string) =>
      state.application.context("hold", undefined).intents?.add(slotAt(9), household, {
        shares: sharesOf(random, 4),
        signature: `sig-${household}`,
        household: undefined as Replier | undefined,
      });
    hold("h0");
    const written = state.intakeWritten();
    hold("h1");
    const compacted = state.compact();
    hold("h2");
    await Promise.all([written, compacted, state.intakeWritten()]);
    const stored = (await journal.entries()).filter((change) => change.kind === "intent");
    assert.deepEqual(
      stored.map((change) => (change.data as { household: string }).household),
      ["h0", "h1", "h2"],
      "each intent is in the journal once",
    );
    const restarted = await load(journal);
    assert.deepEqual(restarted.application.context("r", undefined).intents?.keys(slotAt(9)), [
      "h0 sig-h0",
      "h1 sig-h1",
      "h2 sig-h2",
    ]);
  });
});
