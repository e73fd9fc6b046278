import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Address, bytesToHex, type Hex, keccak256, toHex } from "viem";
import { generatePrivateKey, type HDAccount, privateKeyToAccount } from "viem/accounts";
import { workedExample } from "../../test/support/communities.ts";
import { billedLines } from "../../test/support/ledger.ts";
import type { BillingSlot } from "../billing/types.ts";
import { DEV_ACCOUNT_KEY, devAccount, type EmbeddedChain, startAnvil } from "./anvil.ts";
import { type DisputeEvidence, LedgerError, type SlotResult, SnippetLedger } from "./ledger.ts";
import { aggregatesOf, billLeaf, lineLeaf, type SlotLine } from "./lines.ts";
import { MerkleTree } from "./merkle.ts";
import { LedgerNodes } from "./nodes.ts";

const nodes = new LedgerNodes([generatePrivateKey(), generatePrivateKey(), generatePrivateKey()]);
const [node0, node1, node2] = nodes.accounts as [HDAccount, HDAccount, HDAccount];
const outsider = privateKeyToAccount(generatePrivateKey());
/** Anvil's funded development accounts: the supplier, and C1, C2, P1, P2 of spec/billing.md's worked examples. */
const supplier = devAccount(1);
const households = [2, 3, 4, 5].map(devAccount) as [HDAccount, HDAccount, HDAccount, HDAccount];
const [c1, c2, p1, p2] = households;
const meters = households.map(() => privateKeyToAccount(generatePrivateKey()));
const BOND = 1_000n;
const WINDOW_SECONDS = 3_600;

/** spec/billing.md, case a (a shortage): P1 exports 4 of its 5, C1 imports 7 of its 6. Bills 1800, 1000, −950, −1250. */
function shortage(slot: string): BillingSlot {
  return { ...workedExample({ P1: { importWh: 0, exportWh: 4 }, C1: { importWh: 7, exportWh: 0 } }), slot };
}

/** A slot as the nodes post it: its lines (as given, right or wrong) committed under the root. */
function postedSlot(slot: BillingSlot, lines: readonly SlotLine[]) {
  const openings = lines.map((line, h) => nodes.openings(slot.slot, households[h]?.address as Address, line));
  const tree = new MerkleTree(
    openings.map((opened, h) => lineLeaf(households[h]?.address as Address, opened)),
  );
  const result: SlotResult = {
    slot: slot.slot,
    period: slot.slot.slice(0, 7),
    inputs: keccak256(toHex(`inputs of ${slot.slot}`)),
    volumeWh: 10,
    linesRoot: tree.root,
    ...aggregatesOf(slot.prices, slot.clearingPrice, lines, "ucs-uniform"),
  };
  return { result, openings, tree };
}

describe("the ledger on the embedded EVM: slot records, disputes, period bills and settlement", () => {
  let chain: EmbeddedChain;
  let ledger: SnippetLedger;
  before(async () => {
    chain = await startAnvil();
    ledger = await SnippetLedger.deploy(chain, DEV_ACCOUNT_KEY, {
      nodes: nodes.addresses,
      threshold: 2,
      supplier: supplier.address,
      model: "ucs-uniform",
      disputeWindowSeconds: WINDOW_SECONDS,
      disputeBond: BOND,
    });
    await ledger.registerHouseholds(
      households.map((h, i) => ({ household: h.address, meter: meters[i]?.address as Address })),
    );
    await ledger.prepay(
      [...households.map((h) => h.address), supplier.address],
      [10_000n, 10_000n, 0n, 10_000n, 10_000n],
    );
  });
  after(async () => {
    await chain.stop();
  });

  it("records a slot signed by a threshold of nodes, once, and refuses every other signing", async () => {
    const { result } = postedSlot(
      shortage("2026-06-01T11:00:00Z"),
      billedLines(shortage("x"), "ucs-uniform"),
    );
    const [a, b] = [await ledger.signSlot(result, node0), await ledger.signSlot(result, node1)];
    const cases: [string, SlotResult, Hex[], RegExp][] = [
      [
        "an outsider",
        result,
        [a, await ledger.signSlot(result, outsider)],
        new RegExp(`UnknownSigner\\(${outsider.address}\\)`),
      ],
      [
        "one node alone posting its own root",
        { ...result, linesRoot: keccak256(toHex("other")) },
        [await ledger.signSlot({ ...result, linesRoot: keccak256(toHex("other")) }, node2)],
        /NotEnoughSigners\(1, 2\)/,
      ],
      ["a node twice", result, [a, a], new RegExp(`DuplicateSigner\\(${node0.address}\\)`)],
      ["another volume", { ...result, volumeWh: result.volumeWh + 1 }, [a, b], /UnknownSigner/],
      ["no trade claimed", { ...result, clearingPrice: null }, [a, b], /UnknownSigner/],
      ["another root", { ...result, linesRoot: keccak256(toHex("other")) }, [a, b], /UnknownSigner/],
    ];
    for (const [what, posted, signatures, reason] of cases)
      await assert.rejects(
        ledger.postSlot(posted, signatures),
        (error: unknown) => error instanceof LedgerError && reason.test(error.message),
        what,
      );
    assert.equal(await ledger.recordedSlot(result.slot), null, "nothing was recorded");
    await ledger.postSlot(result, [b, a]);
    assert.equal(await ledger.recordedSlot(result.slot), ledger.slotHash(result));
    await assert.rejects(
      ledger.postSlot(result, [a, b]),
      /SlotAlreadyPosted\(1780311600\)/,
      "a replayed slot",
    );
  });

  it("costs the same gas for any number of households: only the root of their lines goes on chain", async () => {
    const gas: bigint[] = [];
    for (const [k, count] of [10, 10_000].entries()) {
      const leaves = Array.from({ length: count }, (_, h) => new Uint8Array(32).fill(h % 251));
      const { result } = postedSlot(shortage(`2026-06-02T0${k}:00:00Z`), []);
      const posted = { ...result, linesRoot: new MerkleTree(leaves).root };
      gas.push(
        await ledger.postSlot(posted, [
          await ledger.signSlot(posted, node0),
          await ledger.signSlot(posted, node1),
        ]),
      );
    }
    // Calldata bytes cost 4 or 16 gas as they happen to be zero or not: the rest is the same.
    assert.ok(Math.abs(Number((gas[0] as bigint) - (gas[1] as bigint))) < 3_000, `gas ${gas.join(" vs ")}`);
  });

  describe("disputes of a slot whose nodes overbilled C1 and misread C2's meter", () => {
    const slot = shortage("2026-06-01T12:00:00Z");
    const truth = billedLines(slot, "ucs-uniform");
    // Nodes 0 and 1 sign a wrong result: C1 billed 100 units too much, C2's import read as 5 and billed so.
    const misread = billedLines(
      {
        ...slot,
        households: slot.households.map((h) =>
          h.id === "C2" ? { ...h, metered: { importWh: 5, exportWh: 0 } } : h,
        ),
      },
      "ucs-uniform",
    );
    const committed = truth.map((line, h) =>
      h === 0 ? { ...line, billMoney: line.billMoney + 100n } : h === 1 ? (misread[1] as SlotLine) : line,
    );
    const { result, openings, tree } = postedSlot(slot, committed);
    let signatures: Hex[];
    const evidence = (h: number, extra: Partial<DisputeEvidence> = {}): DisputeEvidence => ({
      result,
      signatures,
      openings: openings[h] as DisputeEvidence["openings"],
      proof: tree.proof(h),
      ...extra,
    });

    before(async () => {
      signatures = [await ledger.signSlot(result, node0), await ledger.signSlot(result, node1)];
      await ledger.postSlot(result, signatures);
    });

    it("upholds C1's true claim: corrects its statement, returns its bond and flags the two signers", async () => {
      const outcome = await ledger.dispute(c1, evidence(0));
      assert.deepEqual(
        { ...outcome, gas: 0n },
        { upheld: true, statedMoney: 1900n, correctMoney: 1800n, gas: 0n },
      );
      assert.ok(outcome.gas <= 500_000n, `dispute gas ${outcome.gas}`);
      assert.equal(await ledger.correctionOf("2026-06", c1.address), -100n);
      assert.equal(await ledger.depositOf(c1.address), 10_000n);
      assert.deepEqual(await Promise.all([node0, node1, node2].map((node) => ledger.flagsOf(node.address))), [
        1n,
        1n,
        0n,
      ]);
      await assert.rejects(
        ledger.dispute(c1, evidence(0)),
        /AlreadyDisputed\(1780315200, 0x/,
        "a replayed dispute",
      );
    });

    it("upholds C2's claim with its meter's signed reading, and refuses a reading its meter did not sign", async () => {
      const reading = { slot: slot.slot, importWh: 4, exportWh: 0 };
      const forged = await ledger.signReading(reading, outsider);
      await assert.rejects(
        ledger.dispute(c2, evidence(1, { reading: forged })),
        new RegExp(`BadMeterSignature\\(${c2.address}, ${outsider.address}\\)`),
      );
      const outcome = await ledger.dispute(
        c2,
        evidence(1, { reading: await ledger.signReading(reading, meters[1] as unknown as HDAccount) }),
      );
      assert.equal(outcome.upheld, true);
      assert.equal(outcome.upheld && outcome.correctMoney, 1000n);
      assert.equal(
        await ledger.correctionOf("2026-06", c2.address),
        1000n - (misread[1] as SlotLine).billMoney,
      );
    });

    it("rejects P2's false claim and keeps its bond for the supplier", async () => {
      const supplierBefore = await ledger.depositOf(supplier.address);
      const outcome = await ledger.dispute(p2, evidence(3));
      assert.deepEqual({ ...outcome, gas: 0n }, { upheld: false, statedMoney: -1250n, gas: 0n });
      assert.equal(await ledger.depositOf(p2.address), 10_000n - BOND);
      assert.equal(await ledger.depositOf(supplier.address), supplierBefore + BOND);
    });

    it("refuses evidence that does not hold, by what is wrong with it", async () => {
      const stranger = privateKeyToAccount(generatePrivateKey());
      await chain.fund(stranger.address);
      const cases: [string, HDAccount | typeof stranger, DisputeEvidence, RegExp][] = [
        [
          "another household's line",
          p1,
          evidence(0),
          new RegExp(`NotInLines\\(1780315200, ${p1.address}\\)`),
        ],
        [
          "a result other than the posted one",
          p1,
          evidence(2, { result: { ...result, sharers: 9 } }),
          /NotThePostedResult\(1780315200\)/,
        ],
        [
          "a slot never posted",
          p1,
          evidence(2, { result: { ...result, slot: "2026-06-03T00:00:00Z" } }),
          /NotThePostedResult/,
        ],
        [
          "an opening cut short",
          p1,
          evidence(2, {
            openings: [
              new Uint8Array(3),
              ...(openings[2] as readonly Uint8Array[]).slice(1),
            ] as unknown as DisputeEvidence["openings"],
          }),
          /BadOpening\(0\)/,
        ],
        [
          "an unregistered account",
          stranger,
          evidence(2),
          new RegExp(`NotRegistered\\(${stranger.address}\\)`),
        ],
        [
          "no deposit for the bond",
          p1,
          evidence(2),
          new RegExp(`DepositTooSmall\\(${p1.address}, 0, ${BOND}\\)`),
        ],
      ];
      for (const [what, account, given, reason] of cases)
        await assert.rejects(
          ledger.dispute(account, given),
          (error: unknown) => error instanceof LedgerError && reason.test(error.message),
          what,
        );
    });

    it("settles the period's bills with the corrections once the dispute window closes, to the exact unit", async () => {
      const period = "2026-06";
      const bills = committed.map((line) => line.billMoney);
      const leaves = households.map((h, i) => billLeaf(202606, h.address, bills[i] as bigint));
      const billsTree = new MerkleTree(leaves);
      const root = billsTree.root;
      await assert.rejects(
        ledger.settle(period, c1.address, 1900n, billsTree.proof(0)),
        /PeriodNotPosted\(202606\)/,
      );
      await assert.rejects(
        ledger.postPeriod(period, root, [
          await ledger.signPeriod(period, root, outsider),
          await ledger.signPeriod(period, root, node2),
        ]),
        /UnknownSigner/,
      );
      const periodSignatures = [
        await ledger.signPeriod(period, root, node1),
        await ledger.signPeriod(period, root, node2),
      ];
      await ledger.postPeriod(period, root, periodSignatures);
      await assert.rejects(
        ledger.postPeriod(period, root, periodSignatures),
        /PeriodAlreadyPosted\(202606\)/,
      );
      await assert.rejects(
        ledger.settle(period, c1.address, 1900n, billsTree.proof(0)),
        /DisputeWindowOpen\(202606, \d+\)/,
      );

      await chain.advanceClock(WINDOW_SECONDS + 1);
      await assert.rejects(
        ledger.dispute(p1, evidence(2)),
        /DisputeWindowClosed\(202606, \d+\)/,
        "a dispute too late",
      );
      await assert.rejects(
        ledger.settle(period, c1.address, 1800n, billsTree.proof(0)),
        /NotInBills\(202606, 0x[0-9a-fA-F]+, 1800\)/,
        "a false amount",
      );
      const before = await Promise.all(
        [...households, supplier].map((account) => ledger.depositOf(account.address)),
      );
      for (const [h, household] of households.entries())
        await ledger.settle(period, household.address, bills[h] as bigint, billsTree.proof(h));
      await assert.rejects(ledger.settle(period, c1.address, 1900n, billsTree.proof(0)), /AlreadySettled/);
      // What each pays is its true bill: spec/billing.md case a, 1800, 1000, −950, −1250.
      const after = await Promise.all(
        [...households, supplier].map((account) => ledger.depositOf(account.address)),
      );
      const paid = households.map((_, h) => (before[h] as bigint) - (after[h] as bigint));
      assert.deepEqual(paid, [1800n, 1000n, -950n, -1250n]);
      assert.equal(
        (after[4] as bigint) - (before[4] as bigint),
        600n,
        "the supplier receives the shortage's cost",
      );
      assert.equal(
        await ledger.heldTokens(),
        after.reduce((sum, deposit) => sum + (deposit as bigint), 0n),
      );
    });
  });

  it("refuses to settle a bill its payer's deposit cannot cover, and settles it once covered", async () => {
    const carol = devAccount(6);
    const tree = new MerkleTree([billLeaf(202607, carol.address, 500n)]);
    await ledger.postPeriod("2026-07", tree.root, [
      await ledger.signPeriod("2026-07", tree.root, node0),
      await ledger.signPeriod("2026-07", tree.root, node2),
    ]);
    await chain.advanceClock(WINDOW_SECONDS + 1);
    await assert.rejects(
      ledger.settle("2026-07", carol.address, 500n, tree.proof(0)),
      /DepositTooSmall\(0x[0-9a-fA-F]+, 0, 500\)/,
    );
    await ledger.mint(carol.address, 500n);
    await ledger.deposit(carol, 500n);
    await ledger.settle("2026-07", carol.address, 500n, tree.proof(0));
    assert.equal(await ledger.depositOf(carol.address), 0n);
    assert.equal(bytesToHex(billLeaf(202607, carol.address, 500n)), tree.root);
  });
});
