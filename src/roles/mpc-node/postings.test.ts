import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { BillingModel } from "../../billing/types.ts";
import { DEV_ACCOUNT_KEY, devAccount, type EmbeddedChain, startAnvil } from "../../ledger/anvil.ts";
import { hexToBytes } from "../../ledger/hex.ts";
import { SnippetLedger } from "../../ledger/ledger.ts";
import { lineLeaf, lineOf } from "../../ledger/lines.ts";
import { MerkleTree, verifyProof } from "../../ledger/merkle.ts";
import {
  generateRegistry,
  meterIdOf,
  OPERATOR_ID,
  parseRegistry,
  privateKeyOf,
  signerOf,
} from "../../private/registry.ts";
import { billSlotOnNodes } from "../broker/bill.ts";
import { clearSlotOnNodes, closeMetering } from "../broker/close.ts";
import { signSlotOnNodes } from "../broker/post.ts";
import { submitIntent } from "../household/intent.ts";
import { fetchLineOpenings } from "../household/lines.ts";
import { sendReading } from "../meter/readings.ts";
import { NodeClient } from "./client.ts";
import { type LocalCluster, startLocalCluster } from "./local-cluster.ts";

const MODEL: BillingModel = "ucs-proportional";
const SLOT = "2026-06-01T12:00:00Z";
const PRICES = { feedIn: 500, retail: 2500, networkFee: 100 };
/** Alice sells to Bob and in the community, Carol buys there, Dan stays out; Carol's meter reads more than she bought. */
const GENERATED = generateRegistry({
  households: ["alice", "bob", "carol", "dan"].map((id) => ({ id, zone: "hill", supplier: "s0" })),
  partners: [{ seller: "alice", buyers: ["bob"] }],
});
const REGISTRY = parseRegistry(GENERATED.file);
const HOUSEHOLDS = ["alice", "bob", "carol", "dan"];
const READINGS: Record<string, { importWh: number; exportWh: number }> = {
  alice: { importWh: 0, exportWh: 950 },
  bob: { importWh: 400, exportWh: 0 },
  carol: { importWh: 700, exportWh: 0 },
  dan: { importWh: 120, exportWh: 0 },
};
const signer = (party: string) => signerOf(GENERATED.keys, party);
const operator = signer(OPERATOR_ID);
const addressOf = (id: string) => REGISTRY.parties.get(id)?.ledgerAddress as Address;
const ledgerAccountOf = (id: string) => privateKeyToAccount(GENERATED.keys.ledger?.[id] as Hex);

let cluster: LocalCluster;
let client: NodeClient;
let chain: EmbeddedChain;
let ledger: SnippetLedger;

before(async () => {
  chain = await startAnvil();
  cluster = await startLocalCluster({ registry: GENERATED });
  client = await NodeClient.connect(cluster.config);
  const supplier = devAccount(1);
  ledger = await SnippetLedger.deploy(chain, DEV_ACCOUNT_KEY, {
    nodes: cluster.config.nodes.map((node) => node.ledgerAddress as Address),
    threshold: 2,
    supplier: supplier.address,
    model: MODEL,
    disputeWindowSeconds: 3600,
    disputeBond: 1_000n,
  });
  await ledger.registerHouseholds(
    HOUSEHOLDS.map((id) => ({
      household: addressOf(id),
      meter: privateKeyToAccount(generatePrivateKey()).address,
    })),
  );
  await ledger.prepay(
    [...HOUSEHOLDS.map(addressOf), supplier.address],
    [...HOUSEHOLDS.map(() => 10_000_000n), 40_000_000n],
  );
  // The slot, run as a deployment runs it: intents, clearing, readings, the metering's close, billing.
  const held = await Promise.all([
    submitIntent(
      client,
      REGISTRY,
      SLOT,
      {
        id: "alice",
        side: "sell",
        volumeWh: 1000,
        limitPrice: 900,
        offers: [{ partner: "bob", price: 1200, capWh: 300 }],
      },
      signer("alice"),
    ),
    submitIntent(
      client,
      REGISTRY,
      SLOT,
      {
        id: "bob",
        side: "buy",
        volumeWh: 400,
        limitPrice: 1000,
        accepts: [{ partner: "alice", capWh: 300 }],
      },
      signer("bob"),
    ),
    submitIntent(
      client,
      REGISTRY,
      SLOT,
      { id: "carol", side: "buy", volumeWh: 600, limitPrice: 1400 },
      signer("carol"),
    ),
  ]);
  await clearSlotOnNodes(client, SLOT, { feedIn: PRICES.feedIn, retail: PRICES.retail }, operator);
  await Promise.all(held.map((intent) => intent.commitments));
  for (const id of HOUSEHOLDS) {
    const meter = { id: meterIdOf(id), key: privateKeyOf(GENERATED.keys, "meters", meterIdOf(id)) };
    assert.equal(
      await sendReading(client, meter, SLOT, READINGS[id] as { importWh: number; exportWh: number }),
      null,
    );
  }
  await closeMetering(client, SLOT, operator);
  await billSlotOnNodes(client, SLOT, PRICES, MODEL, operator);
});

after(async () => {
  client?.close();
  await Promise.all([cluster?.stop(), chain?.stop()]);
});

describe("a billed slot's posting, signed by the nodes with their own ledger keys", {
  timeout: 120_000,
}, () => {
  it("is signed by all three for the ledger named, posts with two, and each household finds its line under it", async () => {
    const domain = { chainId: chain.chainId, contract: ledger.address };
    const signed = await signSlotOnNodes(client, SLOT, domain, operator);
    assert.ok(
      signed.signatures.every((signature) => signature !== null),
      "three signatures of their own",
    );
    assert.equal(signed.leaves.length, HOUSEHOLDS.length);
    assert.equal(signed.result.slot, SLOT);
    assert.equal(signed.result.volumeWh, 700);
    assert.ok(signed.result.totalDeviationWh !== 0, "a slot that deviated");
    // Asked again, the nodes sign the same: their openings, and so the root, do not change.
    assert.deepEqual(await signSlotOnNodes(client, SLOT, domain, operator), signed);
    const [first, second] = signed.signatures as [Hex, Hex, Hex];
    await ledger.postSlot(signed.result, [second, first]);
    assert.equal(await ledger.recordedSlot(SLOT), ledger.slotHash(signed.result));

    const tree = new MerkleTree(signed.leaves.map(hexToBytes));
    for (const [h, id] of HOUSEHOLDS.entries()) {
      const [openings] = await fetchLineOpenings(client, [SLOT], signer(id));
      assert.ok(openings !== null && openings !== undefined);
      const leaf = lineLeaf(addressOf(id), openings);
      assert.equal(`0x${Buffer.from(leaf).toString("hex")}`, signed.leaves[h], `${id}'s leaf`);
      assert.ok(verifyProof(signed.result.linesRoot, leaf, tree.proof(h)), `${id}'s proof`);
      assert.equal(lineOf(openings).importWh, BigInt(READINGS[id]?.importWh ?? 0));
    }
    // The contract, recomputing Carol's bill from her opened line and the posted aggregates, finds it right.
    const [carolsOpenings] = await fetchLineOpenings(client, [SLOT], signer("carol"));
    const carol = ledgerAccountOf("carol");
    await chain.fund(carol.address);
    const outcome = await ledger.dispute(carol, {
      result: signed.result,
      signatures: [first, second],
      openings: carolsOpenings as NonNullable<typeof carolsOpenings>,
      proof: tree.proof(HOUSEHOLDS.indexOf("carol")),
    });
    assert.equal(outcome.upheld, false);
    assert.equal(outcome.statedMoney, lineOf(carolsOpenings as NonNullable<typeof carolsOpenings>).billMoney);
  });

  it("refuses another party, a slot not billed, and openings of a line to anyone but its household", async () => {
    const domain = { chainId: chain.chainId, contract: ledger.address };
    await assert.rejects(
      signSlotOnNodes(client, SLOT, domain, signer("alice")),
      /only the operator has the nodes sign a slot's posting/,
    );
    await assert.rejects(
      signSlotOnNodes(client, "2026-06-01T12:15:00Z", domain, operator),
      /slot 2026-06-01T12:15:00Z is not billed from what the nodes keep/,
    );
    await assert.rejects(
      fetchLineOpenings(client, [SLOT], operator),
      /only a household asks for its lines' openings/,
    );
    assert.deepEqual(await fetchLineOpenings(client, ["2026-06-01T12:15:00Z"], signer("bob")), [null]);
  });
});
