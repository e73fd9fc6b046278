import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { type Hex, keccak256, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { clearCommunity } from "../market/clear.ts";
import { type EmbeddedChain, startAnvil } from "./anvil.ts";
import { DEV_ACCOUNT_KEY, fillsTree, LedgerError, SlotLedger, type SlotResult } from "./slot-ledger.ts";

const nodes = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
const outsider = privateKeyToAccount(generatePrivateKey());

/** A cleared slot's public result, with the root of its fills. */
function clearedSlot(slot: string): { result: SlotResult; fills: { id: string; filledWh: number }[] } {
  const cleared = clearCommunity({
    version: 1,
    slot,
    prices: { feedIn: 500, retail: 2000 },
    orders: [
      { id: "alice", side: "sell", volumeWh: 3000, limitPrice: 600 },
      { id: "bob", side: "buy", volumeWh: 2000, limitPrice: 1800 },
      { id: "carol", side: "buy", volumeWh: 500, limitPrice: 900 },
    ],
  });
  return {
    result: {
      slot,
      inputs: keccak256(toHex(`inputs of ${slot}`)),
      clearingPrice: cleared.clearingPrice,
      volumeWh: cleared.volumeWh,
      fillsRoot: fillsTree(cleared.fills).root as Hex,
    },
    fills: cleared.fills.map(({ id, filledWh }) => ({ id, filledWh })),
  };
}

describe("the slot ledger on the embedded EVM", () => {
  let chain: EmbeddedChain;
  let ledger: SlotLedger;
  before(async () => {
    chain = await startAnvil();
    ledger = await SlotLedger.deploy(
      chain,
      DEV_ACCOUNT_KEY,
      nodes.map((node) => node.address),
      2,
    );
  });
  after(async () => {
    await chain.stop();
  });

  it("records a slot signed by a threshold of nodes, once; a household proves its fill against the root", async () => {
    const { result, fills } = clearedSlot("2026-06-01T12:00:00Z");
    assert.equal(await ledger.recorded(result.slot), null);
    const signatures = await Promise.all(nodes.slice(0, 2).map((node) => ledger.sign(result, node)));
    await ledger.post(result, signatures);
    assert.notEqual(await ledger.recorded(result.slot), null);
    await assert.rejects(
      ledger.post(result, signatures),
      /SlotAlreadyPosted\(1780315200\)/,
      "a replayed slot",
    );
    // Bob checks his own fill against the posted root with his proof.
    const tree = fillsTree(fills);
    const bob = fills.find((fill) => fill.id === "bob");
    assert.ok(bob !== undefined);
    const leaf: [string, bigint] = ["bob", BigInt(bob.filledWh)];
    const proof = tree.getProof(leaf);
    assert.ok(StandardMerkleTree.verify(result.fillsRoot, ["string", "uint64"], leaf, proof));
    assert.ok(
      !StandardMerkleTree.verify(
        result.fillsRoot,
        ["string", "uint64"],
        ["bob", BigInt(bob.filledWh) + 1n],
        proof,
      ),
    );
  });

  it("refuses an outsider's signature, too few signatures, a node signing twice and a result other than the one signed", async () => {
    const { result } = clearedSlot("2026-06-01T12:15:00Z");
    const [a, b] = await Promise.all(nodes.slice(0, 2).map((node) => ledger.sign(result, node)));
    const cases: [string, SlotResult, Hex[], RegExp][] = [
      [
        "an outsider",
        result,
        [a as Hex, await ledger.sign(result, outsider)],
        new RegExp(`UnknownSigner\\(${outsider.address}\\)`),
      ],
      ["one signature", result, [a as Hex], /NotEnoughSigners\(1, 2\)/],
      ["a node twice", result, [a as Hex, a as Hex], new RegExp(`DuplicateSigner\\(${nodes[0]?.address}\\)`)],
      ["another volume", { ...result, volumeWh: result.volumeWh + 1 }, [a as Hex, b as Hex], /UnknownSigner/],
      ["no trade claimed", { ...result, clearingPrice: null }, [a as Hex, b as Hex], /UnknownSigner/],
    ];
    for (const [what, posted, signatures, reason] of cases)
      await assert.rejects(
        ledger.post(posted, signatures),
        (error: unknown) => error instanceof LedgerError && reason.test(error.message),
        what,
      );
    assert.equal(await ledger.recorded(result.slot), null, "nothing was recorded");
    await ledger.post(result, [b as Hex, a as Hex]);
  });

  it("costs the same gas for any number of households: only the root of their fills goes on chain", async () => {
    const gas: bigint[] = [];
    for (const [k, households] of [10, 10_000].entries()) {
      const slot = `2026-06-02T0${k}:00:00Z`;
      const fills = Array.from({ length: households }, (_, h) => ({ id: `h${h}`, filledWh: h % 700 }));
      const result: SlotResult = {
        slot,
        inputs: keccak256(toHex(slot)),
        clearingPrice: 1200,
        volumeWh: 99_000,
        fillsRoot: fillsTree(fills).root as Hex,
      };
      gas.push(await ledger.post(result, await Promise.all(nodes.map((node) => ledger.sign(result, node)))));
    }
    // Calldata bytes cost 4 or 16 gas as they happen to be zero or not: the rest is the same.
    assert.ok(Math.abs(Number((gas[0] as bigint) - (gas[1] as bigint))) < 3_000, `gas ${gas.join(" vs ")}`);
  });
});
