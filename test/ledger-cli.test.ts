/**
 * The ledger's commands as a user runs them: `simulate --ledger` with a demonstration fault, then a
 * household's `verify` and `dispute`, the supplier's `settle`, and anyone's `audit`; and a table of
 * bad inputs, each answered with exit code 2 and a message naming what is wrong.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DEV_ACCOUNT_KEY, startAnvil } from "../src/ledger/anvil.ts";
import { runCli, runSnippetProcess } from "./support/cli.ts";

const work = mkdtempSync(join(tmpdir(), "snippet-ledger-cli-"));
after(() => rmSync(work, { recursive: true, force: true }));

const out = join(work, "run");
const ledger = join(out, "ledger");
const FAULT_SLOT = "2026-06-01T12:00:00Z";

describe("snippet simulate --ledger, verify, dispute, settle and audit", () => {
  before(() => {
    const run = runSnippetProcess([
      "simulate",
      "--days",
      "1",
      "--out",
      out,
      "--ledger",
      "--ledger-fault",
      `alice@${FAULT_SLOT}`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`ledger: ${ledger}\n`));
  });

  it("walks a wrong bill from verification through an upheld dispute to settlement and a clean audit", async () => {
    const alice = await runCli(["verify", "--ledger", ledger, "--household", "alice"]);
    assert.equal(alice.code, 1, "a finding ends verify with exit code 1");
    const report = JSON.parse(alice.stdout) as { findings: { record: string }[]; ok: boolean };
    assert.deepEqual(
      report.findings.map((finding) => finding.record),
      ["slot 2026-06-01T12:00:00.000Z"],
    );
    const bob = await runCli(["verify", "--ledger", ledger, "--household", "bob"]);
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(JSON.parse(bob.stdout).ok, true);

    const dispute = await runCli([
      "dispute",
      "--ledger",
      ledger,
      "--household",
      "alice",
      "--slot",
      FAULT_SLOT,
    ]);
    assert.equal(dispute.code, 0, dispute.stderr);
    const outcome = JSON.parse(dispute.stdout);
    assert.equal(outcome.upheld, true);
    assert.equal(BigInt(outcome.statedMoney) - BigInt(outcome.correctMoney), 10_000_000n);
    const again = await runCli(["dispute", "--ledger", ledger, "--household", "alice", "--slot", FAULT_SLOT]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /AlreadyDisputed\(1780315200, 0x[0-9a-fA-F]{40}\)/);

    const waiting = await runCli(["settle", "--ledger", ledger]);
    assert.equal(waiting.code, 0, waiting.stderr);
    assert.match(JSON.parse(waiting.stdout).periods[0].opensAt, /^2\d{3}-/);
    const settle = await runCli(["settle", "--ledger", ledger, "--fast-forward"]);
    assert.equal(settle.code, 0, settle.stderr);
    assert.equal(JSON.parse(settle.stdout).periods[0].settled, 30);

    const audit = await runCli(["audit", "--ledger", ledger]);
    assert.equal(audit.code, 0, audit.stderr);
    const audited = JSON.parse(audit.stdout);
    assert.deepEqual([audited.ok, audited.slots, audited.disputes], [true, 96, { upheld: 1, rejected: 0 }]);
  });

  it("runs on any JSON-RPC endpoint with the key that pays, and checks out there", async () => {
    const external = await startAnvil();
    try {
      const keyFile = join(work, "payer.key");
      writeFileSync(keyFile, `${DEV_ACCOUNT_KEY}\n`, { mode: 0o600 });
      const rpcOut = join(work, "rpc");
      const run = await runCli([
        "simulate",
        "--days",
        "1",
        "--out",
        rpcOut,
        "--ledger",
        "--ledger-rpc",
        external.url,
        "--ledger-key",
        keyFile,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const rpcLedger = join(rpcOut, "ledger");
      assert.equal(JSON.parse(readFileSync(join(rpcLedger, "deployment.json"), "utf8")).rpcUrl, external.url);
      assert.ok(!existsSync(join(rpcLedger, "chain.json")), "the chain is the endpoint's, not a saved one");
      const verify = await runCli(["verify", "--ledger", rpcLedger, "--household", "carol"]);
      assert.equal(verify.code, 0, verify.stderr);
      const audit = await runCli(["audit", "--ledger", rpcLedger]);
      assert.equal(audit.code, 0, audit.stderr);
      assert.equal(JSON.parse(audit.stdout).slots, 96);
    } finally {
      await external.stop();
    }
  });

  it("refuses bad input by name, with exit code 2", async () => {
    const badKey = join(work, "bad.key");
    writeFileSync(badKey, "not a key\n");
    const cases: [string, string[], RegExp][] = [
      [
        "a ledger option without --ledger",
        ["simulate", "--out", join(work, "x"), "--ledger-fault", "alice@2026-06-01T12:00:00Z"],
        /--ledger: the ledger options need --ledger/,
      ],
      [
        "an RPC endpoint without its key",
        ["simulate", "--out", join(work, "x"), "--ledger", "--ledger-rpc", "http://127.0.0.1:1"],
        /--ledger-rpc: an RPC endpoint and its paying key go together/,
      ],
      [
        "a key file without a key",
        [
          "simulate",
          "--out",
          join(work, "x"),
          "--ledger",
          "--ledger-rpc",
          "http://127.0.0.1:1",
          "--ledger-key",
          badKey,
        ],
        /--ledger-key: .* holds no private key/,
      ],
      [
        "a fault naming nobody",
        ["simulate", "--out", join(work, "x"), "--ledger", "--ledger-fault", "nobody@2026-06-01T12:00:00Z"],
        /names no household of the scenario/,
      ],
      [
        "a fault naming no slot",
        ["simulate", "--out", join(work, "x"), "--ledger", "--ledger-fault", "alice@noon"],
        /names no slot time/,
      ],
      [
        "a folder without a ledger",
        ["audit", "--ledger", join(work, "nothing")],
        /deployment.json: missing: is this a ledger folder/,
      ],
      [
        "an unregistered household",
        ["verify", "--ledger", ledger, "--household", "nobody"],
        /--household: nobody is not registered on this ledger/,
      ],
      [
        "a slot never posted",
        ["dispute", "--ledger", ledger, "--household", "bob", "--slot", "2030-01-01T00:00:00Z"],
        /--slot: 2030-01-01T00:00:00Z is no posted slot of this ledger/,
      ],
      ["no ledger folder named", ["audit"], /required option '--ledger <dir>'/],
    ];
    for (const [what, argv, message] of cases) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, `${what}: ${run.stderr}`);
      assert.match(run.stderr, message, what);
      assert.equal(run.stdout, "", what);
    }
  });
});
