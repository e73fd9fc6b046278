import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clearSlot, type HouseholdIntent } from "../../market/index.ts";
import { INTENT_DOMAIN } from "../../private/clearing/intents.ts";
import { generateRawKeyPair, privateKeyFromHex } from "../../private/keys.ts";
import {
  generateRegistry,
  OPERATOR_ID,
  parseRegistry,
  type Registry,
  signerOf,
} from "../../private/registry.ts";
import { sealShares } from "../../private/sealed.ts";
import { clearSlotOnNodes } from "../broker/close.ts";
import { NodeClient } from "../mpc-node/client.ts";
import type { Message } from "../mpc-node/jobs.ts";
import { type LocalCluster, startLocalCluster } from "../mpc-node/local-cluster.ts";
import { submitIntent } from "./intent.ts";

const PRICES = { feedIn: 500, retail: 2000 };
/** Alice sells to Bob, then donates to the hospital; Carol donates too; Dan and Eve trade in the community. */
const GENERATED = generateRegistry({
  households: [
    { id: "alice", zone: "hill", supplier: "s0" },
    { id: "bob", zone: "hill", supplier: "s0" },
    { id: "carol", zone: "hill", supplier: "s0", connectionCapWh: 900 },
    { id: "dan", zone: "hill", supplier: "s0" },
    { id: "eve", zone: "hill", supplier: "s0" },
    { id: "hospital", zone: "hill", supplier: "s0" },
  ],
  partners: [
    { seller: "alice", buyers: ["bob", "hospital"] },
    { seller: "carol", buyers: ["hospital"] },
  ],
});
const REGISTRY: Registry = parseRegistry(GENERATED.file);
const signer = (party: string) => signerOf(GENERATED.keys, party);

const INTENTS: HouseholdIntent[] = [
  {
    id: "alice",
    side: "sell",
    volumeWh: 1200,
    limitPrice: 600,
    offers: [
      { partner: "bob", price: 1500, capWh: 400 },
      { partner: "hospital", price: 0, capWh: 300 },
    ],
  },
  {
    id: "bob",
    side: "buy",
    volumeWh: 700,
    limitPrice: 1900,
    accepts: [{ partner: "alice", capWh: 400, maxPrice: 1800 }],
  },
  {
    id: "carol",
    side: "sell",
    volumeWh: 1500,
    limitPrice: 700,
    connectionCapWh: 900,
    offers: [{ partner: "hospital", price: 0, capWh: 200 }],
  },
  { id: "dan", side: "buy", volumeWh: 900, limitPrice: 1200 },
  { id: "eve", side: "buy", volumeWh: 0, limitPrice: 500, community: false },
  {
    id: "hospital",
    side: "buy",
    volumeWh: 1000,
    limitPrice: 1000,
    accepts: [
      { partner: "alice", capWh: 300 },
      { partner: "carol", capWh: 500 },
    ],
  },
];

let cluster: LocalCluster;
let client: NodeClient;

before(async () => {
  cluster = await startLocalCluster({ registry: GENERATED });
  client = await NodeClient.connect(cluster.config);
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

describe("a slot of intents on running nodes", { timeout: 120_000 }, () => {
  it("gives every household the commitments clearSlot gives it, and the broker only the public figures", async () => {
    const slot = "2026-06-01T12:00:00Z";
    const held = await Promise.all(
      INTENTS.map((intent) => submitIntent(client, REGISTRY, slot, intent, signer(intent.id))),
    );
    const closed = await clearSlotOnNodes(client, slot, PRICES, signer(OPERATOR_ID));
    const reference = clearSlot({ slot, prices: PRICES, households: INTENTS });
    assert.equal(closed.clearingPrice, reference.community.clearingPrice);
    assert.equal(closed.volumeWh, reference.community.volumeWh);
    assert.deepEqual(closed.refused, []);
    assert.deepEqual(closed.leftOut, []);
    assert.equal(closed.intents, INTENTS.length);
    assert.deepEqual(Object.keys(closed).sort(), [
      "clearingPrice",
      "intents",
      "leftOut",
      "prices",
      "refused",
      "slot",
      "volumeWh",
    ]);
    const outcomes = await Promise.all(held.map((intent) => intent.commitments));
    outcomes.forEach((outcome, h) => {
      const expected = reference.commitments[h];
      assert.equal(outcome.id, expected?.id);
      assert.deepEqual(outcome.committed, expected?.committed, `${outcome.id}'s commitments`);
      assert.equal(outcome.cappedWh, expected?.cappedWh);
    });
    // Alice's donation reached the hospital, and Bob paid Alice's price.
    assert.deepEqual(outcomes[0]?.committed.bilateral, [
      { partner: "bob", side: "sell", volumeWh: 400, price: 1500 },
      { partner: "hospital", side: "sell", volumeWh: 300, price: 0 },
    ]);
  });

  it("counts a household without an intent as a null intent, and clears each slot once, for the broker only", async () => {
    const slot = "2026-06-01T12:15:00Z";
    const [alice] = INTENTS as [HouseholdIntent];
    const held = await submitIntent(client, REGISTRY, slot, alice, signer("alice"));
    await assert.rejects(
      clearSlotOnNodes(client, slot, PRICES, signer("bob")),
      /only the operator \(the broker\) clears a slot/,
    );
    const closed = await clearSlotOnNodes(client, slot, PRICES, signer(OPERATOR_ID));
    assert.equal(closed.intents, 1);
    const outcome = await held.commitments;
    // Alone, Alice sells everything to her supplier.
    assert.deepEqual(outcome.committed, {
      communityBuyWh: 0,
      communitySellWh: 0,
      bilateral: [],
      supplierBuyWh: 0,
      supplierSellWh: 1200,
    });
    // Asked again (a broker restarted before it stored the answer), the nodes answer the same and
    // clear nothing again; with other tariffs, they refuse.
    assert.deepEqual(await clearSlotOnNodes(client, slot, PRICES, signer(OPERATOR_ID)), closed);
    await assert.rejects(
      clearSlotOnNodes(client, slot, { ...PRICES, feedIn: 400 }, signer(OPERATOR_ID)),
      /slot 2026-06-01T12:15:00Z was cleared with feedIn 500 and retail 2000, not these tariffs/,
    );
    await assert.rejects(
      submitIntent(client, REGISTRY, slot, alice, signer("alice")),
      /slot 2026-06-01T12:15:00Z is already cleared/,
    );
  });

  it("refuses an intent that is replayed, forged, unregistered or sealed for another node, each alone with the reason", async () => {
    const slot = "2026-06-01T12:30:00Z";
    const [alice, bob] = INTENTS as [HouseholdIntent, HouseholdIntent];
    await submitIntent(client, REGISTRY, slot, alice, signer("alice"));
    // The attempts come over a connection of their own, as an attacker's would.
    const attacker = await NodeClient.connect(cluster.config);
    after(() => attacker.close());
    await assert.rejects(
      submitIntent(attacker, REGISTRY, slot, alice, signer("alice")),
      /already held \(a replay\)/,
    );
    const stranger = privateKeyFromHex(generateRawKeyPair().privateHex);
    await assert.rejects(
      submitIntent(attacker, REGISTRY, slot, bob, { party: "bob", key: stranger }),
      /intent of bob refused: is not signed by bob/,
    );
    await assert.rejects(
      submitIntent(attacker, REGISTRY, slot, { ...bob, id: "mallory" }, signer("bob")),
      /mallory is not a registered household/,
    );
    // Bob's sealed parts, each node given another node's part.
    const sealed = sealShares(
      INTENT_DOMAIN,
      "bob",
      slot,
      new BigUint64Array(5),
      new BigUint64Array(2),
      signer("bob").key,
    );
    const swapped = [sealed[1], sealed[2], sealed[0]].map((part) => ({
      header: { type: "intent", intent: part.header },
      body: part.body,
    })) as [Message, Message, Message];
    await assert.rejects(
      attacker.exchange(swapped, `order bob of ${slot}`, "bob's swapped intent"),
      /is addressed to node/,
    );
    // The slot still clears, with Alice's intent alone.
    const closed = await clearSlotOnNodes(client, slot, PRICES, signer(OPERATOR_ID));
    assert.equal(closed.intents, 1);
    assert.deepEqual(closed.refused, []);
  });

  it("leaves out an intent the three nodes do not hold alike, telling its household, and clears the rest", async () => {
    const slot = "2026-06-01T12:45:00Z";
    const [alice] = INTENTS as [HouseholdIntent];
    const held = await submitIntent(client, REGISTRY, slot, alice, signer("alice"));
    // Bob seals twice: nodes 0 and 1 get one sealing, node 2 the other (another signature).
    const words = new BigUint64Array([700n, 0n, 1n, 400n, 1800n]);
    const limits = new BigUint64Array([1900n, 1899n]);
    const first = sealShares(INTENT_DOMAIN, "bob", slot, words, limits, signer("bob").key);
    const second = sealShares(INTENT_DOMAIN, "bob", slot, words, limits, signer("bob").key);
    const mixed = [first[0], first[1], second[2]].map((part) => ({
      header: { type: "intent", intent: part.header },
      body: part.body,
    })) as [Message, Message, Message];
    const bobsClient = await NodeClient.connect(cluster.config);
    after(() => bobsClient.close());
    await bobsClient.exchange(mixed, `order bob of ${slot}`, "bob's mixed intent");
    const told = bobsClient.waitForReplies(`order bob of ${slot}`, "bob's mixed intent");
    told.catch(() => undefined);
    const closed = await clearSlotOnNodes(client, slot, PRICES, signer(OPERATOR_ID));
    assert.deepEqual(closed.leftOut, ["bob"]);
    assert.equal(closed.intents, 1);
    await assert.rejects(
      told,
      /intent of bob was left out of slot 2026-06-01T12:45:00Z: it did not reach all three nodes alike/,
    );
    assert.equal(
      (await held.commitments).committed.supplierSellWh,
      1200,
      "Alice, alone, sells to her supplier",
    );
  });

  it("runs no job for an unsigned client, and the generic programs for the operator only", async () => {
    const inputs = new BigUint64Array([1n, 2n]);
    await assert.rejects(
      client.run("compare", { n: 1, bits: 8 }, inputs),
      /the request is not signed: this node serves registered parties only/,
    );
    await assert.rejects(
      client.run("compare", { n: 1, bits: 8 }, inputs, { signer: signer("dan") }),
      /only the operator runs compare on this node/,
    );
    const { outputs } = await client.run("compare", { n: 1, bits: 8 }, inputs, {
      signer: signer(OPERATOR_ID),
    });
    assert.deepEqual([...outputs], [1n]);
  });
});
