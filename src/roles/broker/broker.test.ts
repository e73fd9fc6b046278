import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeBrokerConfig } from "../../../test/support/broker-config.ts";
import { ServiceProcess } from "../../../test/support/service-process.ts";
import { type BillingSlot, billSlot, DeviationPool, estimatedReading } from "../../billing/index.ts";
import { clearSlot, type HouseholdIntent } from "../../market/index.ts";
import {
  DSO_ID,
  generateRegistry,
  meterIdOf,
  parseRegistry,
  privateKeyOf,
  signerOf,
} from "../../private/registry.ts";
import { periodBills } from "../household/figures.ts";
import { submitIntent } from "../household/intent.ts";
import { sendReading } from "../meter/readings.ts";
import { NodeClient } from "../mpc-node/client.ts";
import { type LocalCluster, startLocalCluster } from "../mpc-node/local-cluster.ts";
import type { BoardEvent, BoardSlot } from "./board.ts";
import { BrokerClient } from "./client.ts";

/** Alice sells to Bob; Carol sells and Dan buys in the community; Dan's meter stays silent. */
const GENERATED = generateRegistry({
  households: ["alice", "bob", "carol", "dan"].map((id) => ({ id, zone: "z0", supplier: "s0" })),
  partners: [{ seller: "alice", buyers: ["bob"] }],
});
const REGISTRY = parseRegistry(GENERATED.file);
const signer = (party: string) => signerOf(GENERATED.keys, party);
const PRICES = [
  { feedIn: 500, retail: 2000, networkFee: 300 },
  { feedIn: 600, retail: 2100, networkFee: 250 },
];
const ORIGIN = "2026-06-01T00:00:00.000Z";
const SLOTS = [ORIGIN, "2026-06-01T00:15:00.000Z"];
const INTENTS: HouseholdIntent[][] = [0, 1].map((t) => [
  {
    id: "alice",
    side: "sell",
    volumeWh: 900 + 100 * t,
    limitPrice: 700,
    offers: [{ partner: "bob", price: 1500, capWh: 300 }],
  },
  {
    id: "bob",
    side: "buy",
    volumeWh: 700,
    limitPrice: 1800,
    accepts: [{ partner: "alice", capWh: 300, maxPrice: 1600 }],
  },
  { id: "carol", side: "sell", volumeWh: 400 - 100 * t, limitPrice: 900 },
  { id: "dan", side: "buy", volumeWh: 800, limitPrice: 1400 + 100 * t },
]);
/** What each meter reads (Dan's sends nothing: billed at his commitment). */
const READINGS: Record<string, { importWh: number; exportWh: number }>[] = [0, 1].map((t) => ({
  alice: { importWh: 0, exportWh: 850 + 120 * t },
  bob: { importWh: 760, exportWh: 0 },
  carol: { importWh: 0, exportWh: 420 - 90 * t },
}));

/** The board's public figures the reference gives for slot t: clearing, and billing at the readings. */
function referenceFigures(t: number): Pick<BoardSlot, "clearing" | "billing"> {
  const slot = SLOTS[t] as string;
  const prices = PRICES[t] as (typeof PRICES)[number];
  const outcome = clearSlot({ slot, prices, households: INTENTS[t] as HouseholdIntent[] });
  const billing: BillingSlot = {
    slot,
    prices,
    clearingPrice: outcome.community.clearingPrice,
    households: outcome.commitments.map(({ id, committed }) => ({
      id,
      committed,
      metered: READINGS[t]?.[id] ?? estimatedReading(committed),
    })),
  };
  const bills = billSlot(billing, "ucs-uniform");
  const pool = DeviationPool.of(
    billing,
    bills.bills.map((bill) => bill.deviationWh),
    "ucs-uniform",
  );
  return {
    clearing: {
      clearingPrice: outcome.community.clearingPrice,
      volumeWh: outcome.community.volumeWh,
      intents: 4,
      refused: 0,
      leftOut: 0,
    },
    billing: {
      totalDeviationWh: bills.totalDeviationWh,
      sharers: pool.sharers,
      sharedWh: pool.sharedDeviationWh,
    },
  };
}

const work = mkdtempSync(join(tmpdir(), "snippet-broker-process-"));
let cluster: LocalCluster;
let nodes: NodeClient;

before(async () => {
  cluster = await startLocalCluster({ registry: GENERATED });
  nodes = await NodeClient.connect(cluster.config);
});
after(async () => {
  nodes?.close();
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("snippet broker as a process", { timeout: 120_000 }, () => {
  it("drives two slots on three nodes — open, cleared at the gate, metered and billed — with the reference's figures, then closes the period and exits", async () => {
    // A 15-minute slot in 5 s: 3.3 s from the open of slot 0 to its gate.
    const configPath = writeBrokerConfig(work, cluster, {
      slotMinutes: 15,
      gateMinutes: 5,
      graceMinutes: 5,
      speed: 180,
      origin: ORIGIN,
      startDelaySeconds: 2,
      slots: 2,
    });
    const broker = new ServiceProcess("broker", configPath);
    try {
      const client = new BrokerClient(`http://127.0.0.1:${(await broker.ready()).apiPort}`);
      const stop = new AbortController();
      const events: BoardEvent[] = [];
      /** Each household's commitments of each slot, as it rebuilt them. */
      const committed: Promise<unknown>[] = [];
      const watching = (async () => {
        for await (const event of client.events({ signal: stop.signal })) {
          events.push(event);
          const { index, phase } = event.slot;
          // As a household does: plan on the open slot, send the intent before the gate.
          if (phase === "open")
            for (const intent of INTENTS[index] as HouseholdIntent[]) {
              const held = await submitIntent(nodes, REGISTRY, event.slot.slot, intent, signer(intent.id));
              committed.push(held.commitments);
            }
          // As the meters do: each reading before the slot's metering closes.
          if (phase === "cleared" && event.slot.metering === undefined)
            for (const [id, reading] of Object.entries(READINGS[index] ?? {})) {
              const meter = { id: meterIdOf(id), key: privateKeyOf(GENERATED.keys, "meters", meterIdOf(id)) };
              assert.equal(await sendReading(nodes, meter, event.slot.slot, reading), null);
            }
          if (events.filter((seen) => seen.slot.phase === "billed").length === 2) return;
        }
      })();
      // As the supplier and the DSO do: the tariffs of the coming slots.
      await client.publishTariffs(signer("s0"), {
        slots: SLOTS.map((slot, t) => ({
          slot,
          feedIn: PRICES[t]?.feedIn ?? 0,
          retail: PRICES[t]?.retail ?? 0,
        })),
      });
      await client.publishNetwork(signer(DSO_ID), {
        slots: SLOTS.map((slot, t) => ({ slot, networkFee: PRICES[t]?.networkFee ?? 0 })),
      });
      await watching;
      stop.abort();
      assert.equal(await broker.exited, 0, broker.log);
      assert.equal((await Promise.all(committed)).length, 8, "every household got its commitments");

      const phases = (index: number) =>
        events
          .filter((event) => event.slot.index === index)
          .map((event) => `${event.slot.phase}${event.slot.metering === undefined ? "" : "+metering"}`);
      for (const index of [0, 1]) {
        assert.deepEqual(
          phases(index),
          ["open", "cleared", "cleared+metering", "billed+metering"],
          `slot ${index}`,
        );
        const billed = events.filter((event) => event.slot.index === index).pop()?.slot as BoardSlot;
        assert.deepEqual(billed.prices, PRICES[index]);
        const reference = referenceFigures(index);
        assert.deepEqual(billed.clearing, reference.clearing, `slot ${index}'s clearing`);
        assert.deepEqual(billed.metering, { reported: 3, missing: [meterIdOf("dan")], implausible: [] });
        assert.deepEqual(billed.billing, reference.billing, `slot ${index}'s billing`);
      }
      assert.deepEqual(
        events.map((event) => event.seq),
        events.map((_, k) => k),
        "the events in order, each once",
      );
      // The broker closed June on the nodes before it exited: the supplier may ask for its bills.
      assert.equal((await periodBills(nodes, "2026-06", signer("s0"))).length, 4);
      assert.ok(broker.lines().some((line) => line.msg === "the market has billed its last slot"));
    } finally {
      await broker.kill();
    }
  });
});
