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

    if (persistent) {
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
