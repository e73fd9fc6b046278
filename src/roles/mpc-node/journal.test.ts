import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { nodeJournalContract } from "../../../test/support/node-journal.contract.ts";
import {
  type PostgresTestServer,
  startPostgresTestServer,
} from "../../../test/support/postgres-test-server.ts";
import type { StateChange } from "../../private/changes.ts";
import { generateRegistry, parseRegistry } from "../../private/registry.ts";
import { snippetApplication } from "./application.ts";
import { GroupCommit, memoryJournal, type NodeJournal, openNodeJournal } from "./journal.ts";
import { NodeState } from "./node-state.ts";

let folder: string;
let server: PostgresTestServer;
/** PostgreSQL databases by place, created on first use. */
const databases = new Map<string, Promise<string>>();
before(async () => {
  folder = await mkdtemp(join(tmpdir(), "snippet-journal-"));
  server = await startPostgresTestServer();
});
after(async () => {
  await server?.stop();
  await rm(folder, { recursive: true, force: true });
});

nodeJournalContract("memory", async (_place, owner) => memoryJournal(owner), false);
nodeJournalContract("PGlite", (place, owner) => openNodeJournal(join(folder, place), owner), true);
nodeJournalContract(
  "PostgreSQL",
  async (place, owner) => {
    let url = databases.get(place);
    if (url === undefined) {
      url = server.createDatabase(place);
      databases.set(place, url);
    }
    return openNodeJournal(await url, owner);
  },
  true,
);

/** A memory journal that counts its writes. */
function countingJournal(): NodeJournal & { writes: StateChange[][] } {
  const inner = memoryJournal("node-a");
  const writes: StateChange[][] = [];
  return {
    ...inner,
    writes,
    append: async (entries) => {
      writes.push([...entries]);
      await inner.append(entries);
    },
  };
}

describe("group commit", () => {
  it("writes what many clients recorded meanwhile as one batch, and fails every wait after a failed write", async () => {
    const journal = countingJournal();
    const commits = new GroupCommit(journal);
    const waits: Promise<void>[] = [];
    for (let k = 0; k < 50; k++) {
      commits.record({ kind: "intent", data: { k } });
      waits.push(commits.flushed());
    }
    await Promise.all(waits);
    assert.ok(journal.writes.length <= 2, `${journal.writes.length} writes for 50 entries`);
    assert.equal(journal.writes.flat().length, 50);
    const broken = new GroupCommit({ ...journal, append: () => Promise.reject(new Error("disk full")) });
    broken.record({ kind: "intent", data: {} });
    await assert.rejects(broken.flushed(), /disk full/);
    await assert.rejects(broken.flushed(), /disk full/, "a node that cannot write acknowledges nothing more");
  });
});

describe("a node's state from its journal", () => {
  const generated = generateRegistry({ households: [{ id: "h0", zone: "z0", supplier: "s0" }] });
  const registry = parseRegistry(generated.file);
  const load = (journal: NodeJournal) =>
    NodeState.load(journal, (recorder) => snippetApplication(1, registry, recorder), registry, Date.now);
  const periodClosed = (state: NodeState) =>
    state.application.context("probe", undefined).bills?.isClosed("2026-06") ?? false;

  it("applies a job's changes only once committed: prepared and in doubt after a crash, then decided", async () => {
    const journal = memoryJournal("node-b");
    const state = await load(journal);
    state.beginJob();
    state.application.context("j1", undefined).bills?.closePeriod("2026-06");
    assert.equal(await state.prepare("j1"), true);
    // The process dies before node 0's decision: what is stored is prepared, not applied.
    const restarted = await load(journal);
    assert.deepEqual(restarted.inDoubt, ["j1"]);
    assert.equal(periodClosed(restarted), false);
    await restarted.decided("j1", true, true);
    assert.equal(periodClosed(restarted), true);
    assert.equal(periodClosed(await load(journal)), true, "the decision is stored too");
  });

  it("throws a job's changes away when it is aborted, or when it failed before it was prepared", async () => {
    const journal = memoryJournal("node-b");
    const state = await load(journal);
    state.beginJob();
    state.application.context("j2", undefined).bills?.closePeriod("2026-06");
    await state.prepare("j2");
    await state.decided("j2", false, false);
    state.beginJob();
    state.application.context("j3", undefined).bills?.closePeriod("2026-06");
    await state.rebuild();
    assert.equal(periodClosed(state), false, "a failed job's change is gone from memory");
    assert.deepEqual((await load(journal)).inDoubt, []);
    assert.equal(periodClosed(await load(journal)), false);
  });

  it("remembers what node 0 committed, to answer nodes in doubt", async () => {
    const journal = memoryJournal("node-a");
    const state = await load(journal);
    state.beginJob();
    state.application.context("j4", undefined).bills?.closePeriod("2026-06");
    await state.commitAsLeader("j4");
    const restarted = await load(journal);
    assert.equal(restarted.hasCommitted("j4"), true);
    assert.equal(restarted.hasCommitted("j5"), false);
    assert.equal(periodClosed(restarted), true);
  });
});
