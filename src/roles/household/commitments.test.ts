import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { clearSlot, type HouseholdIntent } from "../../market/index.ts";
import type { SlotCommitmentsAnswer } from "../../private/clearing/kept-programs.ts";
import {
  DSO_ID,
  generateRegistry,
  OPERATOR_ID,
  parseRegistry,
  type Registry,
  signerOf,
} from "../../private/registry.ts";
import { clearSlotOnNodes } from "../broker/close.ts";
import { NodeClient } from "../mpc-node/client.ts";
import { type LocalCluster, startLocalCluster } from "../mpc-node/local-cluster.ts";
import { fetchCommitments, submitIntent } from "./intent.ts";

const PRICES = { feedIn: 500, retail: 2000 };
/** Alice sells to Bob and donates to the hospital; Dan buys in the community; Carol sends no intent. */
const GENERATED = generateRegistry({
  households: [
    { id: "alice", zone: "hill", supplier: "s0" },
    { id: "bob", zone: "hill", supplier: "s0" },
    { id: "carol", zone: "hill", supplier: "s0" },
    { id: "dan", zone: "hill", supplier: "s0" },
    { id: "hospital", zone: "hill", supplier: "s0" },
  ],
  partners: [{ seller: "alice", buyers: ["bob", "hospital"] }],
});
const REGISTRY: Registry = parseRegistry(GENERATED.file);
const signer = (party: string) => signerOf(GENERATED.keys, party);

const ALICE: HouseholdIntent = {
  id: "alice",
  side: "sell",
  volumeWh: 1200,
  limitPrice: 600,
  offers: [
    { partner: "bob", price: 1500, capWh: 400 },
    { partner: "hospital", price: 0, capWh: 300 },
  ],
};
const OTHERS: HouseholdIntent[] = [
  {
    id: "bob",
    side: "buy",
    volumeWh: 700,
    limitPrice: 1900,
    accepts: [{ partner: "alice", capWh: 400, maxPrice: 1800 }],
  },
  { id: "dan", side: "buy", volumeWh: 900, limitPrice: 1200 },
  {
    id: "hospital",
    side: "buy",
    volumeWh: 1000,
    limitPrice: 1000,
    accepts: [{ partner: "alice", capWh: 300 }],
  },
];
const CAROL: HouseholdIntent = { id: "carol", side: "buy", volumeWh: 0, limitPrice: 500, community: false };
/** The slot the first test clears; the others ask about it. */
const SLOT = "2026-06-01T12:00:00Z";
const REFERENCE = clearSlot({ slot: SLOT, prices: PRICES, households: [ALICE, CAROL, ...OTHERS] });
const referenceOf = (id: string) => REFERENCE.commitments.find((one) => one.id === id);

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

describe("the commitments the nodes keep (slot-commitments)", { timeout: 120_000 }, () => {
  it("give a household what it received at the clearing, and one whose connection dropped its own", async () => {
    // Alice's device sends her intent and goes away before the gate closes.
    const device = await NodeClient.connect(cluster.config);
    const alicesHeld = await submitIntent(device, REGISTRY, SLOT, ALICE, signer("alice"));
    device.close();
    await assert.rejects(alicesHeld.commitments);
    const held = await Promise.all(
      OTHERS.map((intent) => submitIntent(client, REGISTRY, SLOT, intent, signer(intent.id))),
    );
    const closed = await clearSlotOnNodes(client, SLOT, PRICES, signer(OPERATOR_ID));
    assert.equal(closed.intents, 4, "Alice's intent counts without her connection");
    const received = await Promise.all(held.map((intent) => intent.commitments));
    for (const [h, intent] of OTHERS.entries())
      assert.deepEqual(
        await fetchCommitments(client, REGISTRY, SLOT, intent, signer(intent.id)),
        received[h],
        `${intent.id}'s fetched commitments`,
      );
    // Back on a new connection, Alice rebuilds what the reference commits her to.
    const again = await NodeClient.connect(cluster.config);
    after(() => again.close());
    const alice = await fetchCommitments(again, REGISTRY, SLOT, ALICE, signer("alice"));
    assert.deepEqual(alice.committed, referenceOf("alice")?.committed);
    assert.equal(alice.cappedWh, referenceOf("alice")?.cappedWh);
    assert.deepEqual(alice.slot, received[0]?.slot, "the slot's public figures");
  });

  it("answer each household its own only, and no other party", async () => {
    const ask = (party: string) =>
      client.run("slot-commitments", { slots: [SLOT] }, new BigUint64Array(0), { signer: signer(party) });
    // Dan, without partners, gets one word: his own community fill.
    const dan = await ask("dan");
    const answer = dan.public as SlotCommitmentsAnswer;
    assert.deepEqual(answer.missing, []);
    assert.equal(answer.slots[0]?.words, 1);
    assert.deepEqual([...dan.outputs], [BigInt(referenceOf("dan")?.committed.communityBuyWh ?? -1)]);
    for (const party of [OPERATOR_ID, DSO_ID, "s0"])
      await assert.rejects(ask(party), /only a household asks for its commitments/, party);
    await assert.rejects(
      fetchCommitments(client, REGISTRY, SLOT, ALICE, signer("bob")),
      /bob cannot fetch the commitments of alice/,
    );
  });

  it("name the slots they keep nothing of for the household: not cleared, or no intent of its", async () => {
    const uncleared = "2026-06-01T12:15:00Z";
    const { public: answer, outputs } = await client.run(
      "slot-commitments",
      { slots: [uncleared, SLOT] },
      new BigUint64Array(0),
      { signer: signer("alice") },
    );
    assert.deepEqual((answer as SlotCommitmentsAnswer).missing, [uncleared]);
    assert.equal((answer as SlotCommitmentsAnswer).slots[0], null);
    assert.equal(outputs.length, 3, "Alice's words of the cleared slot alone");
    await assert.rejects(
      fetchCommitments(client, REGISTRY, uncleared, ALICE, signer("alice")),
      /the nodes keep no commitments of alice for slot 2026-06-01T12:15:00Z/,
    );
    await assert.rejects(
      fetchCommitments(client, REGISTRY, SLOT, CAROL, signer("carol")),
      /the nodes keep no commitments of carol for slot 2026-06-01T12:00:00Z/,
    );
  });
});
