import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { clearSlot, type SlotRequest } from "../market/slot.ts";
import { type CommunityPlan, MpcCommunityEngine } from "./mpc-engines.ts";

const request = (slot: string): SlotRequest => ({
  slot,
  prices: { feedIn: 500, retail: 2000 },
  households: [
    {
      id: "alice",
      side: "sell",
      volumeWh: 3000,
      limitPrice: 600,
      offers: [{ partner: "bob", price: 900, capWh: 500 }],
    },
    { id: "bob", side: "buy", volumeWh: 2000, limitPrice: 1800, accepts: [{ partner: "alice", capWh: 800 }] },
  ],
});
/** Alice offers to Bob: the registered partnership of the local nodes' registry. */
const scenario = {
  slotMinutes: 15,
  households: [
    { id: "alice", preferences: { offers: [{ partner: "bob", price: 900, capWh: 500 }] } },
    { id: "bob" },
  ],
} as unknown as CommunityPlan;

describe("the MPC community engine over several slots", () => {
  it("leaves a slot to the supplier when a node dies, names the node, and clears the next slot on fresh nodes", async () => {
    const faults: string[] = [];
    const engine = await MpcCommunityEngine.start({
      scenario,
      onFault: (message) => faults.push(message),
    });
    try {
      const first = request("2026-06-01T12:00:00Z");
      assert.deepEqual(await engine.slot(first), clearSlot(first), "a healthy slot clears");
      const victim = engine.localCluster?.processes[1];
      assert.ok(victim !== undefined, "local nodes run");
      // Wait until it is gone, so the next slot meets a dead node rather than a dying one.
      const gone = once(victim, "exit");
      engine.localCluster?.kill(1);
      await gone;
      const second = request("2026-06-01T12:15:00Z");
      const lost = await engine.slot(second);
      assert.deepEqual(
        lost.commitments.map(({ committed }) => committed),
        [
          { communityBuyWh: 0, communitySellWh: 0, bilateral: [], supplierBuyWh: 0, supplierSellWh: 3000 },
          { communityBuyWh: 0, communitySellWh: 0, bilateral: [], supplierBuyWh: 2000, supplierSellWh: 0 },
        ],
        "the slot is left to the supplier",
      );
      assert.equal(faults.length, 1, `one fault reported: ${faults.join(" / ")}`);
      assert.match(faults[0] as string, /slot 2026-06-01T12:15:00Z left uncleared.*node 1 \(node-b\)/);
      const third = request("2026-06-01T12:30:00Z");
      assert.deepEqual(await engine.slot(third), clearSlot(third), "the next slot clears");
    } finally {
      await engine.close();
    }
  });
});
