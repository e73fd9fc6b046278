import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { seededWords } from "../../../test/support/mpc.ts";
import { twoHouseholds } from "../../../test/support/nodes.ts";
import type { PartyId } from "../../mpc/transport/types.ts";
import { OPERATOR_ID } from "../../private/registry.ts";
import { clearSlotOnNodes } from "../broker/close.ts";
import { fetchCommitments, submitIntent } from "../household/intent.ts";
import { JobError, NodeClient } from "./client.ts";
import type { NodeHealth } from "./health.ts";
import { type LocalCluster, startLocalCluster } from "./local-cluster.ts";

const { generated: GENERATED, registry: REGISTRY, signer } = twoHouseholds();
const operator = signer(OPERATOR_ID);
const PRICES = { feedIn: 500, retail: 2000 };

/** Polls a node's health until `until` holds (the nodes notice within their timeout; the test waits longer). */
async function healthOf(
  cluster: LocalCluster,
  party: PartyId,
  until: (health: NodeHealth) => boolean,
): Promise<NodeHealth> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(cluster.healthUrl(party));
    const health = (await response.json()) as NodeHealth;
    assert.equal(response.status, health.mesh === "up" ? 200 : 503, "the status says whether the mesh is up");
    if (until(health)) return health;
    if (Date.now() > deadline) throw new Error(`node ${party}'s health stayed ${JSON.stringify(health)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("nodes that lose a peer and take it back, each from its own store", () => {
  let cluster: LocalCluster;
  const pair = new BigUint64Array(seededWords(11)(2).map((w) => w >> 2n));
  const product = BigInt.asUintN(64, (pair[0] as bigint) * (pair[1] as bigint));
  /** The operator's job on a fresh connection (a killed node's old connection is gone). */
  const multiply = async () => {
    const client = await NodeClient.connect(cluster.config);
    try {
      return await client.run("multiply", { n: 1, depth: 1 }, pair, { signer: operator });
    } finally {
      client.close();
    }
  };

  before(async () => {
    cluster = await startLocalCluster({
      registry: GENERATED,
      store: "pglite",
      // Each node compacts its store whenever it has doubled: the restarts below replay snapshots.
      compactAfterMb: 0,
      health: true,
      timeoutMs: 2000,
    });
  });
  after(() => cluster.stop());

  for (const killed of [2, 0, 1] as const) {
    it(`notices node ${killed} killed while idle, refuses jobs until it is back, then runs them`, async () => {
      const others = ([0, 1, 2] as const).filter((party) => party !== killed);
      cluster.kill(killed);
      // Each survivor sees a link close (the killed node's, or the other survivor's as it starts
      // over) and then names the node it cannot reach while it tries to join again.
      for (const party of others) {
        const health = await healthOf(
          cluster,
          party,
          (h) => h.mesh === "joining" && h.waitingFor?.peer === killed,
        );
        assert.ok(health.lastLoss !== undefined, `node ${party} shows the loss`);
      }
      await assert.rejects(multiply(), JobError);
      await cluster.restart(killed);
      for (const party of [0, 1, 2] as const) await healthOf(cluster, party, (h) => h.mesh === "up");
      assert.equal((await multiply()).outputs[0], product);
    });
  }

  it("fails a job whose peer is killed mid-protocol, naming it, and runs the next once it is back", async () => {
    const n = 400_000;
    const big = new BigUint64Array(seededWords(12)(2 * n).map((w) => w >> 2n));
    const client = await NodeClient.connect(cluster.config);
    try {
      const running = client.run("multiply", { n, depth: 8 }, big, { signer: operator });
      await new Promise((resolve) => setTimeout(resolve, 300));
      cluster.kill(1);
      await assert.rejects(running, /node 1 \(node-b\)/);
    } finally {
      client.close();
    }
    await cluster.restart(1);
    assert.equal((await multiply()).outputs[0], product);
  });

  it("keeps a household's intent through its node's restart, clears the slot once, and keeps its commitments and figures", async () => {
    const slot = "2026-06-01T12:00:00Z";
    const intent = { id: "h0", side: "buy", volumeWh: 300, limitPrice: 1500 } as const;
    const household = await NodeClient.connect(cluster.config);
    try {
      await submitIntent(household, REGISTRY, slot, intent, signer("h0"));
    } finally {
      household.close();
    }
    cluster.kill(2);
    await cluster.restart(2);
    const broker = await NodeClient.connect(cluster.config);
    let closed: Awaited<ReturnType<typeof clearSlotOnNodes>>;
    try {
      closed = await clearSlotOnNodes(broker, slot, PRICES, operator);
      assert.equal(closed.intents, 1, "node 2 kept h0's intent in its store");
      assert.deepEqual(closed.leftOut, []);
      assert.match(cluster.log(0), /"event":"journal-compacted"/);
      cluster.kill(0);
      await cluster.restart(0);
    } finally {
      broker.close();
    }
    const again = await NodeClient.connect(cluster.config);
    try {
      // Asked again, the nodes answer what they answered, node 0 from its compacted store.
      assert.deepEqual(await clearSlotOnNodes(again, slot, PRICES, operator), closed);
      await assert.rejects(
        clearSlotOnNodes(again, slot, { ...PRICES, feedIn: PRICES.feedIn + 1 }, operator),
        /slot 2026-06-01T12:00:00Z was cleared with feedIn/,
      );
      // The household left before the clearing: it fetches what node 0 kept through its compaction and SIGKILL.
      const outcome = await fetchCommitments(again, REGISTRY, slot, intent, signer("h0"));
      assert.equal(outcome.slot.slot, slot);
      assert.equal(outcome.committed.communityBuyWh + outcome.committed.supplierBuyWh, intent.volumeWh);
    } finally {
      again.close();
    }
  });
});

describe("a slot whose clearing a killed node cuts short", () => {
  let cluster: LocalCluster;
  before(async () => {
    // Latency between the nodes stretches the clearing's rounds over seconds: the kill lands mid-protocol.
    cluster = await startLocalCluster({ registry: GENERATED, store: "pglite", timeoutMs: 2000, delayMs: 25 });
  });
  after(() => cluster.stop());

  it("loses nothing: the intents stay held, and the slot is cleared in full, once, after the node is back", async () => {
    const slot = "2026-06-01T12:15:00Z";
    const intents = [
      { id: "h0", side: "buy", volumeWh: 400, limitPrice: 1800 },
      { id: "h1", side: "sell", volumeWh: 300, limitPrice: 900 },
    ] as const;
    const households = await NodeClient.connect(cluster.config);
    const broker = await NodeClient.connect(cluster.config);
    try {
      const held = await Promise.all(
        intents.map((intent) => submitIntent(households, REGISTRY, slot, intent, signer(intent.id))),
      );
      const clearing = clearSlotOnNodes(broker, slot, PRICES, operator);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      cluster.kill(2);
      await assert.rejects(clearing, /node 2 \(node-c\)/);
      for (const { commitments } of held) await assert.rejects(commitments, JobError);
    } finally {
      households.close();
      broker.close();
    }
    await cluster.restart(2);
    const again = await NodeClient.connect(cluster.config);
    try {
      const closed = await clearSlotOnNodes(again, slot, PRICES, operator);
      assert.equal(closed.intents, 2, "every node still held both intents, node 2 from its store");
      assert.equal(closed.volumeWh, 300);
      const [bought, sold] = await Promise.all(
        intents.map((intent) => fetchCommitments(again, REGISTRY, slot, intent, signer(intent.id))),
      );
      assert.equal(bought?.committed.communityBuyWh, 300);
      assert.equal(sold?.committed.communitySellWh, 300);
      assert.deepEqual(await clearSlotOnNodes(again, slot, PRICES, operator), closed, "cleared once");
    } finally {
      again.close();
    }
  });
});
