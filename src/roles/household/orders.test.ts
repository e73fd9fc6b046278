import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { clearCommunity } from "../../market/clear.ts";
import type { ClearRequest, Order } from "../../market/types.ts";
import { orderKey } from "../../private/clearing/intake.ts";
import { prepareClosing } from "../../private/clearing/slot.ts";
import { closeSlot } from "../broker/close.ts";
import { JobError, NodeClient } from "../mpc-node/client.ts";
import { type LocalCluster, startLocalCluster } from "../mpc-node/local-cluster.ts";
import { agreedKeys } from "../mpc-node/node.ts";
import { submitOrder } from "./orders.ts";

const northSouth = JSON.parse(
  readFileSync(
    new URL("../../../test/vectors/market-splitting/north-south.input.json", import.meta.url),
    "utf8",
  ),
) as ClearRequest;

describe("households sharing their own orders to running nodes", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await startLocalCluster();
  });
  after(() => cluster.stop());

  /** Each order from its own device (its own connections), every one held before the broker closes. */
  async function submitAll(job: string, orders: readonly Order[]) {
    const clients = await Promise.all(orders.map(() => NodeClient.connect(cluster.config)));
    const held = await Promise.allSettled(
      orders.map((order, k) => submitOrder(clients[k] as NodeClient, job, order)),
    );
    return { clients, held };
  }

  it("give each household its own fill and the broker the public figures, as the reference clears", async () => {
    const job = "slot-2026-06-01T12:00Z";
    const { clients, held } = await submitAll(job, northSouth.orders);
    const broker = await NodeClient.connect(cluster.config);
    try {
      const figures = await closeSlot(broker, job, {
        ...northSouth.prices,
        zones: [...(northSouth.zones ?? [])],
      });
      const reference = clearCommunity(northSouth);
      assert.deepEqual(figures, {
        clearingPrice: reference.clearingPrice,
        volumeWh: reference.volumeWh,
        zones: reference.zones,
        leftOut: [],
      });
      for (const [k, outcome] of held.entries()) {
        assert.equal(outcome.status, "fulfilled");
        const fill = await (outcome as PromiseFulfilledResult<Awaited<ReturnType<typeof submitOrder>>>).value
          .fill;
        assert.equal(fill.id, reference.fills[k]?.id);
        assert.equal(fill.filledWh, reference.fills[k]?.filledWh, `${fill.id}'s fill`);
        assert.deepEqual(fill.slot, {
          clearingPrice: reference.clearingPrice,
          volumeWh: reference.volumeWh,
          zones: reference.zones,
        });
      }
    } finally {
      for (const client of [...clients, broker]) client.close();
    }
  });

  it("turn bad orders away one by one, with their reasons, and clear the rest", async () => {
    const job = "slot-with-bad-orders";
    const prices = { feedIn: 500, retail: 2000 };
    const good: Order[] = [
      { id: "alice", side: "sell", volumeWh: 3000, limitPrice: 600 },
      { id: "bob", side: "buy", volumeWh: 2000, limitPrice: 1800, connectionCapWh: 1500 },
      { id: "carol", side: "buy", volumeWh: 1000, limitPrice: 900 },
    ];
    const bad: Order[] = [
      // Past validation on its device: 0 Wh reaches the nodes as shares, and only MPC can tell.
      { id: "dora", side: "buy", volumeWh: 0, limitPrice: 1000 },
      { id: "erik", side: "sell", volumeWh: 500, limitPrice: 700, zone: "hill" },
    ];
    const { clients, held } = await submitAll(job, [...good, ...bad]);
    const thief = await NodeClient.connect(cluster.config);
    const broker = await NodeClient.connect(cluster.config);
    try {
      await assert.rejects(
        submitOrder(thief, job, { id: "alice", side: "buy", volumeWh: 1, limitPrice: 2000 }),
        /order alice failed: order alice is already in slot slot-with-bad-orders/,
      );
      const figures = await closeSlot(broker, job, prices);
      const reference = clearCommunity({ version: 1, slot: job, prices, orders: good });
      assert.deepEqual(figures, {
        clearingPrice: reference.clearingPrice,
        volumeWh: reference.volumeWh,
        leftOut: [
          { id: "erik", reason: 'it names zone "hill" but the slot has no zones' },
          { id: "dora", reason: "the nodes found its volume or limit out of range" },
        ],
      });
      const fills = held.map(
        (outcome) => (outcome as PromiseFulfilledResult<{ fill: Promise<unknown> }>).value.fill,
      );
      for (const [k, order] of good.entries()) {
        assert.deepEqual(
          await fills[k],
          {
            ...reference.fills[k],
            slot: { clearingPrice: reference.clearingPrice, volumeWh: reference.volumeWh },
          },
          order.id,
        );
      }
      await assert.rejects(
        fills[3] as Promise<unknown>,
        /order dora was refused: the nodes found its volume or limit out of range/,
      );
      await assert.rejects(fills[4] as Promise<unknown>, (error: unknown) => {
        assert.ok(error instanceof JobError);
        assert.match(
          error.message,
          /order erik was left out: it names zone "hill" but the slot has no zones/,
        );
        return true;
      });
    } finally {
      for (const client of [...clients, thief, broker]) client.close();
    }
  });
});

describe("closing a slot", () => {
  const order = (id: string, zone?: string) => ({
    terms: { id, side: "buy" as const, ...(zone === undefined ? {} : { zone }) },
    shares: { own: BigUint64Array.of(5n, 7n), next: BigUint64Array.of(6n, 8n) },
    household: id,
  });

  it("clears only the orders all three nodes hold with the same terms", () => {
    const [a, b, c] = [order("a"), order("b"), order("c")];
    const keys = [a, b, c].map((o) => orderKey(o.terms));
    // b did not reach the third node; c reached it with another side.
    const agreed = agreedKeys([keys, keys, [keys[0] as string, orderKey({ id: "c", side: "sell" })]]);
    const held = new Map([a, b, c].map((o) => [o.terms.id, o]));
    const slot = prepareClosing(held, agreed, { feedIn: 500, retail: 2000 });
    assert.deepEqual(
      slot.placed.map((o) => o.household),
      ["a"],
    );
    assert.deepEqual(slot.leftOut, [
      { id: "b", reason: "it did not reach all three nodes with the same terms" },
      { id: "c", reason: "it did not reach all three nodes with the same terms" },
    ]);
    assert.deepEqual([...slot.inputs.own], [5n, 7n], "its volume, then its limit word");
  });

  it("leaves out orders the broker's zones do not match", () => {
    const held = new Map([order("a", "north"), order("b"), order("c", "south")].map((o) => [o.terms.id, o]));
    const agreed = new Set([...held.values()].map((o) => orderKey(o.terms)));
    const zones = [{ id: "north", exportLimitWh: 100, importLimitWh: 100 }];
    const slot = prepareClosing(held, agreed, { feedIn: 500, retail: 2000, zones });
    assert.deepEqual(
      slot.placed.map((o) => o.household),
      ["a"],
    );
    assert.deepEqual(slot.leftOut, [
      { id: "b", reason: "it names no zone" },
      { id: "c", reason: 'zone "south" is not one of the slot\'s' },
    ]);
  });
});
