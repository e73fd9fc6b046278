/**
 * The node configuration: generated certificates, keys and file load back; a second generation into
 * the same folder is refused; broken files are refused with errors naming the field.
 * @module
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { certificateFingerprint, describeNode } from "../../mpc/transport/peers.ts";
import { ValidationError } from "../../validation/index.ts";
import {
  generateNodeConfig,
  keyPathFor,
  ledgerKeyPathFor,
  loadLedgerKeys,
  loadNodeConfig,
} from "./config.ts";

let folder = "";
let configPath = "";

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "node-config-"));
  configPath = await generateNodeConfig(join(folder, "generated"), { host: "127.0.0.1", basePort: 7300 });
});

after(async () => {
  if (folder !== "") await rm(folder, { recursive: true, force: true });
});

/** Writes a configuration file beside the generated certificates and loads it. */
async function loadVariant(file: unknown): Promise<unknown> {
  const path = join(folder, "generated", "variant.json");
  await writeFile(path, typeof file === "string" ? file : JSON.stringify(file));
  return loadNodeConfig(path);
}

/** The generated file's content, for variants. */
async function generatedFile(): Promise<{ nodes: Record<string, unknown>[]; timeoutMs: number }> {
  return JSON.parse(await readFile(configPath, "utf8"));
}

/** Asserts `promise` rejects with a ValidationError having an issue at `path` matching `message`. */
async function assertIssue(promise: Promise<unknown>, path: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    const issue = error.issues.find((candidate) => candidate.path === path);
    assert.ok(issue !== undefined, `no issue at ${path}; issues: ${error.message}`);
    assert.match(issue.message, message);
    return true;
  });
}

describe("generateNodeConfig and loadNodeConfig", () => {
  it("generates three nodes with their own P-256 certificates and owner-only keys", async () => {
    const config = await loadNodeConfig(configPath);
    assert.equal(config.timeoutMs, 10_000);
    assert.deepEqual(
      config.nodes.map((node) => [node.name, node.host, node.port, node.clientPort]),
      [
        ["node-a", "127.0.0.1", 7300, 7303],
        ["node-b", "127.0.0.1", 7301, 7304],
        ["node-c", "127.0.0.1", 7302, 7305],
      ],
    );
    assert.equal(config.nodes[1].name, "node-b");
    assert.equal(describeNode(config, 2), "node 2 (node-c)");
    const fingerprints = new Set(config.nodes.map((node) => certificateFingerprint(node.certificatePem)));
    assert.equal(fingerprints.size, 3, "every node has its own certificate");
    for (const party of [0, 1, 2] as const) {
      const certificate = new X509Certificate(config.nodes[party].certificatePem);
      assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1", "a P-256 key");
      assert.match(certificate.subject, new RegExp(`CN=${config.nodes[party].name}`));
      const keyPath = keyPathFor(configPath, party);
      assert.equal(keyPath, join(folder, "generated", `node-${party}.key.pem`));
      const keyPem = await readFile(keyPath, "utf8");
      assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/, "a PKCS#8 PEM key");
      assert.equal((await stat(keyPath)).mode & 0o777, 0o600, "the key is readable by its owner only");
      assert.ok(certificate.checkPrivateKey(createPrivateKey(keyPem)), "the key belongs to the certificate");
    }
  });

  it("gives every node its own owner-only ledger key, of the address nodes.json lists", async () => {
    const config = await loadNodeConfig(configPath);
    const keys = await loadLedgerKeys(configPath, config);
    assert.equal(new Set(keys).size, 3);
    for (const party of [0, 1, 2] as const) {
      assert.equal(privateKeyToAccount(keys[party] as Hex).address, config.nodes[party].ledgerAddress);
      assert.equal((await stat(ledgerKeyPathFor(configPath, party))).mode & 0o777, 0o600);
    }
    const swapped = join(folder, "swapped-ledger-keys");
    await cp(join(folder, "generated"), swapped, { recursive: true });
    const swappedPath = join(swapped, "nodes.json");
    await rm(ledgerKeyPathFor(swappedPath, 2));
    for (const [party, message] of [
      [1, /holds no key of the listed address 0x/],
      [2, /cannot read .*node-2\.ledger\.key/],
    ] as const) {
      await writeFile(ledgerKeyPathFor(swappedPath, 1), `${party === 1 ? keys[2] : keys[1]}\n`);
      await assert.rejects(
        () => loadLedgerKeys(swappedPath, config),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.issues[0]?.path === `nodes[${party}].ledgerAddress` &&
          message.test(error.issues[0].message),
      );
    }
  });

  it("refuses a ledger key its group can read", async () => {
    const exposed = join(folder, "exposed-ledger-key");
    await cp(join(folder, "generated"), exposed, { recursive: true });
    const exposedPath = join(exposed, "nodes.json");
    await chmod(ledgerKeyPathFor(exposedPath, 1), 0o640);
    const config = await loadNodeConfig(exposedPath);
    await assert.rejects(
      () => loadLedgerKeys(exposedPath, config),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues[0]?.path === "nodes[1].ledgerAddress" &&
        error.issues[0].message.endsWith(
          `(mode 0640); a private key must be its owner's alone: chmod 600 ${ledgerKeyPathFor(exposedPath, 1)}`,
        ),
    );
  });

  it("writes each node's material as node-key does, and never over an earlier generation", async () => {
    const generated = join(folder, "generated");
    const names = (await readdir(generated)).sort();
    assert.deepEqual(
      names,
      [0, 1, 2]
        .flatMap((party) =>
          ["crt.pem", "key.pem", "ledger.key", "public.json"].map((end) => `node-${party}.${end}`),
        )
        .concat("nodes.json")
        .sort(),
    );
    const contents = await Promise.all(names.map((name) => readFile(join(generated, name), "utf8")));
    await assert.rejects(
      generateNodeConfig(generated, { host: "127.0.0.1", basePort: 7300 }),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.length === names.length &&
        error.issues.every((issue) => /already exists and is never overwritten/.test(issue.message)) &&
        error.issues.some((issue) => issue.path === keyPathFor(configPath, 0)),
    );
    assert.deepEqual(
      await Promise.all(names.map((name) => readFile(join(generated, name), "utf8"))),
      contents,
    );
  });

  it("takes explicit ports", async () => {
    const path = await generateNodeConfig(join(folder, "ports"), {
      host: "localhost",
      basePort: 0,
      ports: [9001, 9005, 9003],
      clientPorts: [9101, 9105, 9103],
    });
    const config = await loadNodeConfig(path);
    assert.deepEqual(
      config.nodes.map((node) => [node.port, node.clientPort]),
      [
        [9001, 9101],
        [9005, 9105],
        [9003, 9103],
      ],
    );
  });

  it("refuses a file without exactly three nodes", async () => {
    const file = await generatedFile();
    await assertIssue(
      loadVariant({ ...file, nodes: file.nodes.slice(0, 2) }),
      "nodes",
      /lists 2 nodes; it must list exactly 3/,
    );
  });

  it("names a bad port, host, unknown field and missing timeout", async () => {
    const file = await generatedFile();
    const [first, second, third] = file.nodes;
    const broken = {
      nodes: [
        { ...first, port: 70000 },
        { ...second, host: "" },
        { ...third, colour: "red" },
      ],
    };
    const loading = loadVariant(broken);
    await assertIssue(loading, "nodes[0].port", /70000 is not a TCP port/);
    await assertIssue(loading, "nodes[1].host", /empty host name/);
    await assertIssue(loading, "nodes[2]", /unknown field "colour"/);
    await assertIssue(loading, "timeoutMs", /missing/);
  });

  it("names a certificate it cannot read or parse, and one used twice", async () => {
    const file = await generatedFile();
    const [first, second, third] = file.nodes;
    await writeFile(join(folder, "generated", "garbage.pem"), "not a certificate");
    const broken = {
      ...file,
      nodes: [
        { ...first, certificate: "missing.pem" },
        { ...second, certificate: "garbage.pem" },
        { ...third, certificate: "node-2.crt.pem" },
      ],
    };
    const loading = loadVariant(broken);
    await assertIssue(loading, "nodes[0].certificate", /cannot read .*missing\.pem \(ENOENT\)/);
    await assertIssue(loading, "nodes[1].certificate", /garbage\.pem is not a PEM X\.509 certificate/);
    const twice = { ...file, nodes: [first, { ...second, certificate: first?.certificate }, third] };
    await assertIssue(loadVariant(twice), "nodes[1].certificate", /same certificate as nodes\[0\]/);
  });

  it("names two nodes at one address or with one name", async () => {
    const file = await generatedFile();
    const [first, second, third] = file.nodes;
    const clash = { ...file, nodes: [first, { ...second, port: first?.port, name: first?.name }, third] };
    const loading = loadVariant(clash);
    await assertIssue(loading, "nodes[1].port", /127\.0\.0\.1:7300 is also nodes\[0\]'s port/);
    await assertIssue(loading, "nodes[1].name", /"node-a" is also nodes\[0\]'s name/);
    const clientClash = { ...file, nodes: [first, second, { ...third, clientPort: first?.port }] };
    await assertIssue(
      loadVariant(clientClash),
      "nodes[2].clientPort",
      /127\.0\.0\.1:7300 is also nodes\[0\]'s port/,
    );
  });

  it("refuses text that is not JSON, and a missing file", async () => {
    await assertIssue(loadVariant("{ nodes: "), "(input)", /is not valid JSON/);
    await assertIssue(
      loadNodeConfig(join(folder, "nowhere.json")),
      "(input)",
      /cannot read .*nowhere\.json \(ENOENT\)/,
    );
  });
});
