import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Shared } from "../../mpc/arithmetic.ts";
import { COMMITMENT_COLUMNS } from "../billing/layout.ts";
import type { ChangeRecorder, StateChange } from "../changes.ts";
import { KeptCommitments, type SlotFigures } from "./kept.ts";

const SLOTS = ["2026-06-01T12:00:00Z", "2026-06-01T12:15:00Z", "2026-06-01T12:30:00Z"];

/** Slot t's figures; with zones on the first. */
function figuresOf(t: number): SlotFigures {
  return {
    slot: SLOTS[t] as string,
    prices: { feedIn: 500, retail: 2000 },
    clearingPrice: t === 2 ? null : 1000 + t,
    volumeWh: 100 * t,
    ...(t === 0 ? { zones: [{ clearingPrice: 1000, netExportWh: "-40" }] } : {}),
  };
}

/** Distinct words per slot and household: alice has 1 word, bob 3 (an offer and an acceptance). */
function sharesOf(t: number, household: string): Shared {
  const width = household === "alice" ? 1 : 3;
  const base = BigInt(1000 * t + (household === "alice" ? 0 : 100));
  return {
    own: BigUint64Array.from({ length: width }, (_, k) => base + BigInt(k)),
    next: BigUint64Array.from({ length: width }, (_, k) => base + BigInt(k) + 50n),
  };
}

/** Distinct billing columns per slot: a row for alice, then one for bob. */
function columnsOf(t: number): Shared {
  const words = 2 * COMMITMENT_COLUMNS.length;
  return {
    own: BigUint64Array.from({ length: words }, (_, k) => BigInt(10_000 * t + k)),
    next: BigUint64Array.from({ length: words }, (_, k) => BigInt(10_000 * t + k + 500)),
  };
}

/** Keeps slot t: alice and bob counted, bob's intent refused on the last slot, carol left out of the first. */
function keepSlot(kept: KeptCommitments, t: number): void {
  const outputs = new Map([
    ["alice", sharesOf(t, "alice")],
    ["bob", sharesOf(t, "bob")],
  ]);
  kept.keep(SLOTS[t] as string, outputs, {
    figures: figuresOf(t),
    refused: t === 2 ? ["bob"] : [],
    leftOut: t === 0 ? ["carol"] : [],
    columns: columnsOf(t),
  });
}

/** What the kept commitments answer for every slot and household, and every slot's clearing, in plain arrays. */
function answers(kept: KeptCommitments): unknown[] {
  return SLOTS.flatMap((slot) => [
    ...["alice", "bob", "carol"].map((household) => {
      const one = kept.of(slot, household);
      return one === undefined
        ? null
        : { own: [...one.shares.own], next: [...one.shares.next], public: one.public };
    }),
    JSON.stringify(kept.clearingOf(slot), (_, value) => (typeof value === "bigint" ? String(value) : value)),
  ]);
}

/** A recorder that keeps the job changes as a database journal would: serialised. */
function journal(): { recorder: ChangeRecorder; changes: StateChange[] } {
  const changes: StateChange[] = [];
  const record = (change: StateChange) => changes.push(JSON.parse(JSON.stringify(change)));
  return { recorder: { intake: record, job: record }, changes };
}

describe("the commitments a node keeps", () => {
  it("gives each counted household its own words and the slot's figures, and nothing to others", () => {
    const kept = new KeptCommitments();
    keepSlot(kept, 0);
    keepSlot(kept, 2);
    assert.ok(kept.isKept(SLOTS[0] as string));
    assert.ok(!kept.isKept(SLOTS[1] as string));
    const alice = kept.of(SLOTS[0] as string, "alice");
    assert.deepEqual(alice?.shares, sharesOf(0, "alice"));
    assert.deepEqual(alice?.public, { ...figuresOf(0), refused: false });
    assert.deepEqual(kept.of(SLOTS[0] as string, "bob")?.shares, sharesOf(0, "bob"));
    assert.deepEqual(kept.of(SLOTS[2] as string, "bob")?.public, { ...figuresOf(2), refused: true });
    assert.equal(kept.of(SLOTS[0] as string, "carol"), undefined, "not counted");
    assert.equal(kept.of(SLOTS[1] as string, "alice"), undefined, "not cleared");
    assert.deepEqual(kept.clearingOf(SLOTS[0] as string), {
      figures: figuresOf(0),
      refused: [],
      leftOut: ["carol"],
      counted: ["alice", "bob"],
      columns: columnsOf(0),
    });
    assert.equal(kept.clearingOf(SLOTS[1] as string), undefined);
  });

  it("drops a slot's columns once it is billed, in the journal and the snapshot too", () => {
    const { recorder, changes } = journal();
    const kept = new KeptCommitments(recorder);
    for (const t of [0, 1]) keepSlot(kept, t);
    kept.dropColumns(SLOTS[0] as string);
    kept.dropColumns(SLOTS[0] as string);
    assert.deepEqual(
      changes.map((change) => change.kind),
      ["commitments", "commitments", "columns-dropped"],
    );
    assert.equal(kept.clearingOf(SLOTS[0] as string)?.columns, undefined);
    assert.deepEqual(kept.clearingOf(SLOTS[1] as string)?.columns, columnsOf(1));
    assert.deepEqual(kept.of(SLOTS[0] as string, "bob")?.shares, sharesOf(0, "bob"), "the commitments stay");
    const restored = new KeptCommitments();
    for (const change of changes) assert.ok(restored.restore(change));
    assert.deepEqual(answers(restored), answers(kept));
    const fromSnapshot = new KeptCommitments();
    for (const change of kept.snapshot()) assert.ok(fromSnapshot.restore(JSON.parse(JSON.stringify(change))));
    assert.deepEqual(answers(fromSnapshot), answers(kept));
  });

  it("restores a slot a store kept before billing columns, without them", () => {
    const { recorder, changes } = journal();
    keepSlot(new KeptCommitments(recorder), 1);
    const { columns: _, leftOut: __, ...older } = (changes[0] as StateChange).data as Record<string, unknown>;
    const restored = new KeptCommitments();
    assert.ok(restored.restore({ kind: "commitments", data: older }));
    assert.deepEqual(restored.of(SLOTS[1] as string, "bob")?.shares, sharesOf(1, "bob"));
    assert.deepEqual(restored.clearingOf(SLOTS[1] as string), {
      figures: figuresOf(1),
      refused: [],
      leftOut: [],
      counted: ["alice", "bob"],
    });
  });

  it("records one job change per slot kept, from which a fresh instance gives the same answers", () => {
    const { recorder, changes } = journal();
    const kept = new KeptCommitments(recorder);
    for (const t of [0, 1, 2]) keepSlot(kept, t);
    assert.deepEqual(
      changes.map((change) => change.kind),
      ["commitments", "commitments", "commitments"],
    );
    const restored = new KeptCommitments();
    for (const change of changes) assert.ok(restored.restore(change));
    assert.deepEqual(answers(restored), answers(kept));
  });

  it("snapshots its state as changes that rebuild it, oldest slot first", () => {
    const kept = new KeptCommitments();
    for (const t of [0, 1, 2]) keepSlot(kept, t);
    const snapshot = kept.snapshot().map((change) => JSON.parse(JSON.stringify(change)) as StateChange);
    assert.deepEqual(
      snapshot.map((change) => (change.data as { slot: string }).slot),
      SLOTS,
    );
    const restored = new KeptCommitments();
    for (const change of snapshot) assert.ok(restored.restore(change));
    assert.deepEqual(answers(restored), answers(kept));
    assert.deepEqual(restored.snapshot(), snapshot);
  });

  it("keeps at most the slots it is told, dropping the oldest first, after a restore too", () => {
    const { recorder, changes } = journal();
    const kept = new KeptCommitments(recorder, 2);
    for (const t of [0, 1, 2]) keepSlot(kept, t);
    assert.deepEqual(
      SLOTS.map((slot) => kept.isKept(slot)),
      [false, true, true],
    );
    assert.equal(kept.of(SLOTS[0] as string, "alice"), undefined);
    const restored = new KeptCommitments(undefined, 2);
    for (const change of changes) restored.restore(change);
    assert.deepEqual(answers(restored), answers(kept));
    assert.equal(kept.snapshot().length, 2);
  });

  it("leaves changes of other kinds alone", () => {
    const kept = new KeptCommitments();
    assert.equal(kept.restore({ kind: "bills", data: {} }), false);
    assert.equal(kept.restore({ kind: "slot-cleared", data: { slot: SLOTS[0] } }), false);
    assert.deepEqual(kept.snapshot(), []);
  });
});
