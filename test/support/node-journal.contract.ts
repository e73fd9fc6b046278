/**
 * The contract every node journal keeps (memory, PGlite, PostgreSQL): batches come back in order,
 * whole, across a reopen where the journal persists; and a journal refuses to open for another owner.
 * @module
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NodeJournal } from "../../src/roles/mpc-node/journal.ts";

/** Opens the journal under test named `place` (the same one again for the same name, where it persists) for `owner`. */
export type OpenJournal = (place: string, owner: string) => Promise<NodeJournal>;

export function nodeJournalContract(name: string, open: OpenJournal, persistent: boolean): void {
  describe(`node journal: ${name}`, () => {
    it("gives back every entry in the order written, batch by batch", async () => {
      const journal = await open("order", "node-a 00");
      try {
        assert.deepEqual(await journal.entries(), []);
        await journal.append([{ kind: "intent", data: { slot: "s1", household: "h0" } }]);
        await journal.append([
          { kind: "reading", data: { meter: "m1", shares: "AAEC" } },
          { kind: "slot-cleared", data: { slot: "s1" } },
        ]);
        assert.deepEqual(
          (await journal.entries()).map((entry) => entry.kind),
          ["intent", "reading", "slot-cleared"],
        );
      } finally {
        await journal.close();
      }
    });

    it("replaces every entry appended before a compaction with its snapshot, keeping those appended during it", async () => {
      const journal = await open("replace", "node-a 00");
      try {
        await journal.append([{ kind: "intent", data: { slot: "s1", household: "h0" } }]);
        await journal.append([{ kind: "slot-cleared", data: { slot: "s1" } }]);
        const grown = journal.size().appendedBytes;
        const compacted = journal.compact([{ kind: "slots-closed", data: { slots: ["s1"] } }]);
        await journal.append([{ kind: "intent", data: { slot: "s2", household: "h1" } }]);
        await compacted;
        assert.deepEqual(await journal.entries(), [
          { kind: "slots-closed", data: { slots: ["s1"] } },
          { kind: "intent", data: { slot: "s2", household: "h1" } },
        ]);
        if (persistent) {
          assert.ok(grown > 0, "what was appended is counted");
          const { snapshotBytes, appendedBytes } = journal.size();
          assert.ok(snapshotBytes > 0, "the snapshot is counted");
          assert.ok(appendedBytes > 0 && appendedBytes < grown, "the count starts again after the snapshot");
        }
      } finally {
        await journal.close();
      }
    });

    if (persistent) {
      it("keeps a snapshot larger than one row whole and in order, and its size, across a reopen", async () => {
        // Three changes of 5 MB: more than one row of the snapshot.
        const big = (k: number) => ({ kind: "bills-kept", data: { k, shares: String(k).repeat(5 << 20) } });
        const first = await open("large", "node-a 00");
        await first.compact([big(1), big(2), big(3)]);
        await first.append([{ kind: "period-closed", data: { period: "2026-06" } }]);
        const size = first.size();
        await first.close();
        const again = await open("large", "node-a 00");
        try {
          assert.deepEqual(
            (await again.entries()).map((change) => [change.kind, (change.data as { k?: number }).k]),
            [
              ["bills-kept", 1],
              ["bills-kept", 2],
              ["bills-kept", 3],
              ["period-closed", undefined],
            ],
          );
          assert.deepEqual(again.size(), size, "the sizes are read back at open");
        } finally {
          await again.close();
        }
      });

      it("keeps what was written across a reopen, and refuses another node's state", async () => {
        const first = await open("reopen", "node-b 11");
        await first.append([{ kind: "period-closed", data: { period: "2026-06" } }]);
        await first.close();
        const again = await open("reopen", "node-b 11");
        try {
          assert.deepEqual(await again.entries(), [{ kind: "period-closed", data: { period: "2026-06" } }]);
        } finally {
          await again.close();
        }
        await assert.rejects(open("reopen", "node-c 22"), /holds the state of node-b 11, not of node-c 22/);
      });
    }
  });
}
