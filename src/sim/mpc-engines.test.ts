import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { clearCommunity } from "../market/clear.ts";
import type { ClearRequest } from "../market/types.ts";
import { MpcCommunityEngine } from "./mpc-engines.ts";

const request = (slot: string): ClearRequest => ({
  version: 1,
  slot,
  prices: { feedIn: 500, retail: 2000 },
  orders: [
    { id: "alice", side: "sell", volumeWh: 3000, limitPrice: 600 },
    { id: "bob", side: "buy", volumeWh: 2000, limitPrice: 1800 },
  ],
});

describe("the MPC community engine over several slots", () => {
  it("leaves a slot uncleared when a node dies, names the node, and clears the next slot on fresh nodes", async () => {
    const faults: string[] = [];
    const engine = await MpcCommunityEngine.start({
      households: [{ id: "alice" }, { id: "bob" }],
      onFault: (message) => faults.push(message),
    });
    try {
      const first = request("2026-06-01T12:00:00Z");
      assert.deepEqual(await engine.clear(first), clearCommunity(first), "a healthy slot clears");
      const victim = engine.localCluster?.processes[1];
      assert.ok(victim !== undefined, "local nodes run");
      // Wait until it is gone, so the next slot meets a dead node rather than a dying one.
      const gone = once(victim, "exit");
      engine.localCluster?.kill(1);
      await gone;
      const second = request("2026-06-01T12:15:00Z");
      assert.deepEqual(
        await engine.clear(second),
        {
          version: 1,
          slot: second.slot,
          clearingPrice: null,
          volumeWh: 0,
          fills: [
            { id: "alice", filledWh: 0 },
            { id: "bob", filledWh: 0 },
          ],
        },
        "the slot is left uncleared",
      );
      assert.equal(faults.length, 1, `one fault reported: ${faults.join(" / ")}`);
      assert.match(faults[0] as string, /slot 2026-06-01T12:15:00Z left uncleared.*node 1 \(node-b\)/);
      const third = request("2026-06-01T12:30:00Z");
      assert.deepEqual(await engine.clear(third), clearCommunity(third), "the next slot clears");
    } finally {
      await engine.close();
    }
  });
});
