import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeBrokerConfig } from "../../../test/support/broker-config.ts";
import { ServiceProcess } from "../../../test/support/service-process.ts";
import { clearSlot, type HouseholdIntent } from "../../market/index.ts";
import { DSO_ID, generateRegistry, parseRegistry, signerOf } from "../../private/registry.ts";
import { submitIntent } from "../household/intent.ts";
import { NodeClient } from "../mpc-node/client.ts";
import { type LocalCluster, startLocalCluster } from "../mpc-node/local-cluster.ts";
import type { BrokerHealth } from "./api.ts";
import type { BoardEvent } from "./board.ts";
import { BrokerClient } from "./client.ts";

const GENERATED = generateRegistry({
  households: ["h0", "h1"].map((id) => ({ id, zone: "z0", supplier: "s0" })),
});
const REGISTRY = parseRegistry(GENERATED.file);
const signer = (party: string) => signerOf(GENERATED.keys, party);
const PRICES = { feedIn: 500, retail: 2000, networkFee: 300 };
const SLOTS = ["2026-06-01T00:00:00.000Z", "2026-06-01T00:15:00.000Z"];
const INTENTS: HouseholdIntent[] = [
  { id: "h0", side: "sell", volumeWh: 500, limitPrice: 600 },
  { id: "h1", side: "buy", volumeWh: 600, limitPrice: 1500 },
];

const work = mkdtempSync(join(tmpdir(), "snippet-broker-faults-"));
let cluster: LocalCluster;

before(async () => {
  cluster = await startLocalCluster({ registry: GENERATED });
});
after(async () => {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("snippet broker with a node down", { timeout: 120_000 }, () => {
  it("leaves the slot at whose gate a node is down to the supplier, naming the node, and clears the next once it is back", async () => {
    // A 15-minute slot in 10 s; from its gate to its start 0.7 s, from its start to the next gate 9.3 s.
    const configPath = writeBrokerConfig(work, cluster, {
      slotMinutes: 15,
      gateMinutes: 1,
      graceMinutes: 1,
      speed: 90,
      origin: SLOTS[0],
      startDelaySeconds: 2,
      slots: 2,
    });
    const broker = new ServiceProcess("broker", configPath);
    try {
      const url = `http://127.0.0.1:${(await broker.ready()).apiPort}`;
      const health = async () => (await (await fetch(`${url}/health`)).json()) as BrokerHealth;
      const client = new BrokerClient(url);
      cluster.kill(2);
      const down = await health();
      assert.equal(down.status, "degraded");
      assert.deepEqual(
        down.nodes.map((node) => node.up),
        [true, true, false],
      );
      assert.match(down.nodes[2]?.reason ?? "", /ECONNREFUSED/);
      await client.publishTariffs(signer("s0"), {
        slots: SLOTS.map((slot) => ({ slot, feedIn: PRICES.feedIn, retail: PRICES.retail })),
      });
      await client.publishNetwork(signer(DSO_ID), {
        slots: SLOTS.map((slot) => ({ slot, networkFee: PRICES.networkFee })),
      });
      const stop = new AbortController();
      const events: BoardEvent[] = [];
      let nodes: NodeClient | undefined;
      let committed: Promise<unknown> | undefined;
      for await (const event of client.events({ signal: stop.signal })) {
        events.push(event);
        const { index, phase } = event.slot;
        // Node 2's operator brings it back once its slot is lost; the households plan the next.
        if (index === 0 && phase === "uncleared" && event.slot.metering === undefined) {
          await cluster.restart(2);
          nodes = await NodeClient.connect(cluster.config);
          assert.equal((await health()).status, "ok");
        }
        if (index === 1 && phase === "open") {
          const held = await Promise.all(
            INTENTS.map((intent) =>
              submitIntent(nodes as NodeClient, REGISTRY, SLOTS[1] as string, intent, signer(intent.id)),
            ),
          );
          committed = Promise.all(held.map((intent) => intent.commitments));
        }
        if (events.filter((seen) => seen.slot.phase === "billed").length === 2) break;
      }
      stop.abort();
      assert.equal(await broker.exited, 0, broker.log);
      nodes?.close();

      const last = (index: number) => events.filter((event) => event.slot.index === index).pop()?.slot;
      assert.deepEqual(
        events.filter((event) => event.slot.index === 0).map((event) => event.slot.phase),
        ["open", "uncleared", "uncleared", "billed"],
      );
      assert.match(last(0)?.uncleared ?? "", /^the nodes could not clear it: .*node 2 \(node-c\)/);
      assert.equal(last(0)?.clearing, undefined);
      const reference = clearSlot({ slot: SLOTS[1] as string, prices: PRICES, households: INTENTS });
      assert.deepEqual(last(1)?.clearing, {
        clearingPrice: reference.community.clearingPrice,
        volumeWh: reference.community.volumeWh,
        intents: 2,
        refused: 0,
        leftOut: 0,
      });
      assert.equal(last(1)?.phase, "billed");
      assert.equal(((await committed) as unknown[]).length, 2, "each household got its commitments");
      assert.match(broker.log, /could not clear slot 0; trying again/);
    } finally {
      await broker.kill();
    }
  });
});
