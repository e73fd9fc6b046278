import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { type Hex, keccak256, toHex } from "viem";
import { generatePrivateKey, type HDAccount, privateKeyToAccount } from "viem/accounts";
import { clearCommunity } from "../market/clear.ts";
import { DEV_ACCOUNT_KEY, devAccount, type EmbeddedChain, startAnvil } from "./anvil.ts";
import { billsTree, fillsTree, LedgerError, type SlotResult, SnippetLedger } from "./ledger.ts";

const nodes = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
const outsider = privateKeyToAccount(generatePrivateKey());
/** Anvil's funded development accounts 1–3: the supplier and two households. */
const [supplier, alice, bob] = [1, 2, 3].map(devAccount) as [HDAccount, HDAccount, HDAccount];

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

describe("the ledger on the embedded EVM: slot records, period bills and their settlement", () => {
  let chain: EmbeddedChain;
  let ledger: SnippetLedger;
  before(async () => {
    chain = await startAnvil();
    ledger = await SnippetLedger.deploy(chain, DEV_ACCOUNT_KEY, {
      nodes: nodes.map((node) => node.address),
      threshold: 2,
      supplier: supplier.address,
    });
  });
  after(async () => {
    await chain.stop();
  });

  it("records a slot signed by a threshold of nodes, once; a household proves its fill against the root", async () => {
    const { result, fills } = clearedSlot("2026-06-01T12:00:00Z");
    assert.equal(await ledger.recordedSlot(result.slot), null);
    const signatures = await Promise.all(nodes.slice(0, 2).map((node) => ledger.signSlot(result, node)));
    await ledger.postSlot(result, signatures);
    assert.notEqual(await ledger.recordedSlot(result.slot), null);
    await assert.rejects(
      ledger.postSlot(result, signatures),
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
    const [a, b] = await Promise.all(nodes.slice(0, 2).map((node) => ledger.signSlot(result, node)));
    const cases: [string, SlotResult, Hex[], RegExp][] = [
      [
        "an outsider",
        result,
        [a as Hex, await ledger.signSlot(result, outsider)],
        new RegExp(`UnknownSigner\\(${outsider.address}\\)`),
      ],
      ["one signature", result, [a as Hex], /NotEnoughSigners\(1, 2\)/],
      ["a node twice", result, [a as Hex, a as Hex], new RegExp(`DuplicateSigner\\(${nodes[0]?.address}\\)`)],
      ["another volume", { ...result, volumeWh: result.volumeWh + 1 }, [a as Hex, b as Hex], /UnknownSigner/],
      ["no trade claimed", { ...result, clearingPrice: null }, [a as Hex, b as Hex], /UnknownSigner/],
    ];
    for (const [what, posted, signatures, reason] of cases)
      await assert.rejects(
        ledger.postSlot(posted, signatures),
        (error: unknown) => error instanceof LedgerError && reason.test(error.message),
        what,
      );
    assert.equal(await ledger.recordedSlot(result.slot), null, "nothing was recorded");
    await ledger.postSlot(result, [b as Hex, a as Hex]);
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
      gas.push(
        await ledger.postSlot(result, await Promise.all(nodes.map((node) => ledger.signSlot(result, node)))),
      );
    }
    // Calldata bytes cost 4 or 16 gas as they happen to be zero or not: the rest is the same.
    assert.ok(Math.abs(Number((gas[0] as bigint) - (gas[1] as bigint))) < 3_000, `gas ${gas.join(" vs ")}`);
  });

  it("moves each household's bill between its deposit and the supplier's once, so balances equal the bills", async () => {
    // Alice is owed 1.2345678 EUR (she sold), Bob owes 3.0000001 EUR: money units of 1e-7 EUR.
    const bills = [
      { household: alice.address, money: -12_345_678n },
      { household: bob.address, money: 30_000_001n },
    ];
    const tree = billsTree(bills);
    const root = tree.root as Hex;
    for (const [account, amount] of [
      [supplier, 50_000_000n],
      [bob, 40_000_000n],
    ] as const) {
      await ledger.mint(account.address, amount);
      await ledger.deposit(account, amount);
    }
    const proofOf = (k: number) => tree.getProof(k) as Hex[];
    await assert.rejects(
      ledger.settle("2026-06", bob.address, 30_000_001n, proofOf(1)),
      /PeriodNotPosted\(202606\)/,
    );
    const signatures = await Promise.all(
      nodes.slice(1).map((node) => ledger.signPeriod("2026-06", root, node)),
    );
    await assert.rejects(
      ledger.postPeriod("2026-06", root, [
        await ledger.signPeriod("2026-06", root, outsider),
        signatures[0] as Hex,
      ]),
      /UnknownSigner/,
    );
    await ledger.postPeriod("2026-06", root, signatures);
    await assert.rejects(ledger.postPeriod("2026-06", root, signatures), /PeriodAlreadyPosted\(202606\)/);

    await assert.rejects(
      ledger.settle("2026-06", bob.address, 1n, proofOf(1)),
      /NotInBills\(202606, 0x[0-9a-fA-F]+, 1\)/,
      "a false amount",
    );
    await ledger.settle("2026-06", bob.address, 30_000_001n, proofOf(1));
    await ledger.settle("2026-06", alice.address, -12_345_678n, proofOf(0));
    await assert.rejects(ledger.settle("2026-06", bob.address, 30_000_001n, proofOf(1)), /AlreadySettled/);
    assert.equal(await ledger.depositOf(bob.address), 40_000_000n - 30_000_001n);
    assert.equal(await ledger.depositOf(alice.address), 12_345_678n);
    assert.equal(await ledger.depositOf(supplier.address), 50_000_000n + 30_000_001n - 12_345_678n);
  });

  it("refuses to settle a bill its payer's deposit cannot cover, and settles it once covered", async () => {
    const carol = devAccount(4);
    const tree = billsTree([{ household: carol.address, money: 500n }]);
    const root = tree.root as Hex;
    await ledger.postPeriod(
      "2026-07",
      root,
      await Promise.all(nodes.slice(0, 2).map((n) => ledger.signPeriod("2026-07", root, n))),
    );
    const proof = tree.getProof(0) as Hex[];
    await assert.rejects(
      ledger.settle("2026-07", carol.address, 500n, proof),
      /DepositTooSmall\(0x[0-9a-fA-F]+, 0, 500\)/,
    );
    await ledger.mint(carol.address, 500n);
    await ledger.deposit(carol, 500n);
    await ledger.settle("2026-07", carol.address, 500n, proof);
    assert.equal(await ledger.depositOf(carol.address), 0n);
  });
});
