/**
 * Each operator's own node key: generated without overwriting anything, assembled from the three
 * public descriptions into a configuration that loads and whose keys are the nodes' own; bad or
 * clashing descriptions named by file and field; a private key others can read refused.
 * @module
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { runCli } from "../../../test/support/cli.ts";
import { generateRegistry, writeRegistry } from "../../private/registry.ts";
import { ValidationError } from "../../validation/index.ts";
import { assembleNodeConfig, loadNodeConfig, readNodeKey } from "./config.ts";
import {
  generateNodeKey,
  type NodeKeyFiles,
  type NodePublicDescription,
  readPrivateKeyFile,
} from "./keys.ts";

const HOST = "127.0.0.1";
const OPERATORS = ["alpha", "beta", "gamma"] as const;

let folder = "";
/** Each operator's files, each in its own folder, by party. */
let operators: NodeKeyFiles[] = [];
let descriptions: string[] = [];
/** The assembled configuration every operator gets. */
let configPath = "";

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "node-keys-"));
  operators = await Promise.all(
    OPERATORS.map((name, party) =>
      generateNodeKey(join(folder, name), { name, host: HOST, port: 7500 + party, clientPort: 7600 + party }),
    ),
  );
  descriptions = operators.map((files) => files.description);
  configPath = await assembleNodeConfig(join(folder, "shared"), descriptions, { timeoutMs: 5000 });
});

after(async () => {
  if (folder !== "") await rm(folder, { recursive: true, force: true });
});

/** Every file of a folder with its content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).sort();
  return Object.fromEntries(
    await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name), "utf8")] as const)),
  );
}

/** Asserts `work` fails with a ValidationError having an issue at `path` whose message matches `message`. */
async function assertIssue(work: () => unknown, path: string, message: RegExp): Promise<void> {
  await assert.rejects(
    async () => work(),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
      const issue = error.issues.find((candidate) => candidate.path === path);
      assert.ok(issue !== undefined, `no issue at ${path}; issues:\n${error.message}`);
      assert.match(issue.message, message);
      return true;
    },
  );
}

async function description(party: number): Promise<NodePublicDescription> {
  return JSON.parse(await readFile(descriptions[party] as string, "utf8"));
}

describe("generateNodeKey", () => {
  it("writes an owner-only TLS key and ledger key, a P-256 certificate, and a public description of them", async () => {
    const files = operators[0] as NodeKeyFiles;
    assert.deepEqual(
      Object.values(files).map((path) => path.slice(folder.length)),
      ["/alpha/alpha.key.pem", "/alpha/alpha.crt.pem", "/alpha/alpha.ledger.key", "/alpha/alpha.public.json"],
    );
    assert.equal((await stat(join(folder, "alpha"))).mode & 0o777, 0o700, "the new folder is the owner's");
    for (const key of [files.key, files.ledgerKey])
      assert.equal((await stat(key)).mode & 0o777, 0o600, `${key} is readable by its owner only`);
    const published = await description(0);
    assert.deepEqual(Object.keys(published), [
      "name",
      "host",
      "port",
      "clientPort",
      "certificate",
      "ledgerAddress",
    ]);
    assert.deepEqual(
      [published.name, published.host, published.port, published.clientPort],
      ["alpha", HOST, 7500, 7600],
    );
    assert.equal(published.certificate, await readFile(files.certificate, "utf8"));
    const certificate = new X509Certificate(published.certificate);
    assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(certificate.subject, /CN=alpha/);
    assert.ok(certificate.checkIP(HOST), "the certificate names its host");
    assert.ok(certificate.checkPrivateKey(createPrivateKey(await readFile(files.key, "utf8"))));
    const ledgerKey = (await readFile(files.ledgerKey, "utf8")).trim() as Hex;
    assert.equal(privateKeyToAccount(ledgerKey).address, published.ledgerAddress);
    assert.doesNotMatch(JSON.stringify(published), /PRIVATE KEY|[0-9a-f]{64}/, "nothing secret");
  });

  it("never overwrites: a second run fails naming every file, and leaves them as they were", async () => {
    const before = await snapshot(join(folder, "alpha"));
    const again = () =>
      generateNodeKey(join(folder, "alpha"), { name: "alpha", host: HOST, port: 1, clientPort: 2 });
    for (const path of Object.values(operators[0] as NodeKeyFiles))
      await assertIssue(again, path, /already exists and is never overwritten/);
    assert.deepEqual(await snapshot(join(folder, "alpha")), before);
    // One file in the way is enough to write none of them.
    const crowded = join(folder, "crowded");
    await mkdir(crowded);
    await writeFile(join(crowded, "delta.ledger.key"), "someone else's\n");
    await assertIssue(
      () => generateNodeKey(crowded, { name: "delta", host: HOST, port: 1, clientPort: 2 }),
      join(crowded, "delta.ledger.key"),
      /already exists/,
    );
    assert.deepEqual(await snapshot(crowded), { "delta.ledger.key": "someone else's\n" });
  });

  it("refuses a name that cannot name files, and a port out of range", async () => {
    const out = join(folder, "refused");
    await assertIssue(
      () => generateNodeKey(out, { name: "../alpha", host: HOST, port: 1, clientPort: 2 }),
      "name",
      /"\.\.\/alpha" is not a node name/,
    );
    await assertIssue(
      () => generateNodeKey(out, { name: "delta", host: HOST, port: 70000, clientPort: 2 }),
      "port",
      /70000 is not a TCP port/,
    );
    assert.equal(existsSync(out), false, "nothing written");
  });
});

describe("assembleNodeConfig", () => {
  it("writes a configuration that loads, with every certificate beside it, whose keys are the nodes' own", async () => {
    const config = await loadNodeConfig(configPath);
    assert.equal(config.timeoutMs, 5000);
    assert.deepEqual(
      config.nodes.map((node) => [node.name, node.host, node.port, node.clientPort]),
      OPERATORS.map((name, party) => [name, HOST, 7500 + party, 7600 + party]),
    );
    assert.deepEqual(Object.keys(await snapshot(join(folder, "shared"))), [
      "alpha.crt.pem",
      "beta.crt.pem",
      "gamma.crt.pem",
      "nodes.json",
    ]);
    for (const party of [0, 1, 2] as const) {
      const files = operators[party] as NodeKeyFiles;
      const keyPem = readNodeKey(config, party, files.key);
      assert.ok(
        new X509Certificate(config.nodes[party].certificatePem).checkPrivateKey(createPrivateKey(keyPem)),
      );
      assert.equal(config.nodes[party].ledgerAddress, (await description(party)).ledgerAddress);
    }
  });

  it("keeps what is already there unchanged, and refuses to replace what differs", async () => {
    const shared = join(folder, "shared");
    const before = await snapshot(shared);
    assert.equal(await assembleNodeConfig(shared, descriptions, { timeoutMs: 5000 }), configPath);
    assert.deepEqual(await snapshot(shared), before, "the same inputs write the same files");
    await assertIssue(
      () => assembleNodeConfig(shared, descriptions),
      configPath,
      /already exists and is never overwritten/,
    );
    // A new key under the same name: its certificate differs from the one the others were given.
    const renewed = await generateNodeKey(join(folder, "alpha-renewed"), {
      name: "alpha",
      host: HOST,
      port: 7500,
      clientPort: 7600,
    });
    await assertIssue(
      () => assembleNodeConfig(shared, [renewed.description, ...descriptions.slice(1)], { timeoutMs: 5000 }),
      join(shared, "alpha.crt.pem"),
      /already exists/,
    );
    assert.deepEqual(await snapshot(shared), before);
  });

  it("names the registry relative to nodes.json, and a registry that does not load", async () => {
    const registryFolder = join(folder, "registry");
    await mkdir(registryFolder);
    const name = await writeRegistry(
      registryFolder,
      generateRegistry({ households: [{ id: "h1", zone: "z", supplier: "s" }] }),
    );
    const out = join(folder, "with-registry");
    const path = await assembleNodeConfig(out, descriptions, { registry: join(registryFolder, name) });
    assert.equal(JSON.parse(await readFile(path, "utf8")).registry, "../registry/registry.json");
    assert.ok((await loadNodeConfig(path)).registry !== undefined);
    const nowhere = join(folder, "no-registry");
    await assert.rejects(
      assembleNodeConfig(nowhere, descriptions, { registry: join(folder, "none.json") }),
      /registry .*none\.json/,
    );
    assert.equal(existsSync(nowhere), false, "nothing written");
  });

  it("names every bad or clashing description by file and field, and writes nothing", async () => {
    const [alpha, beta] = [await description(0), await description(1)];
    const [a, b, c] = descriptions as [string, string, string];
    let count = 0;
    /** Writes `content` (JSON unless a string) as a fresh description file named `name`. */
    const variant = async (content: unknown, name = "variant.public.json"): Promise<string> => {
      const dir = join(folder, "variants", String(count++));
      await mkdir(dir, { recursive: true });
      const path = join(dir, name);
      await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
      return path;
    };
    const keyPem = await readFile((operators[0] as NodeKeyFiles).key, "utf8");
    const cases: [string, () => Promise<string[]>, (files: string[]) => string, RegExp][] = [
      [
        "a missing file",
        async () => [join(folder, "nowhere.public.json"), b, c],
        (f) => f[0] as string,
        /cannot be read \(ENOENT\)/,
      ],
      [
        "text that is not JSON",
        async () => [await variant("{"), b, c],
        (f) => f[0] as string,
        /is not valid JSON/,
      ],
      [
        "an unknown field",
        async () => [await variant({ ...alpha, colour: "red" }), b, c],
        (f) => f[0] as string,
        /unknown field "colour"/,
      ],
      [
        "a bad port",
        async () => [await variant({ ...alpha, port: 70000 }), b, c],
        (f) => `${f[0]}: port`,
        /70000 is not a TCP port/,
      ],
      [
        "a missing client port",
        async () => [await variant({ ...alpha, clientPort: undefined }), b, c],
        (f) => `${f[0]}: clientPort`,
        /missing is not a number/,
      ],
      [
        "a name that cannot name files",
        async () => [await variant({ ...alpha, name: "a/b" }), b, c],
        (f) => `${f[0]}: name`,
        /is not a node name/,
      ],
      [
        "a certificate that is not PEM",
        async () => [await variant({ ...alpha, certificate: "garbage" }), b, c],
        (f) => `${f[0]}: certificate`,
        /is not a PEM X\.509 certificate/,
      ],
      [
        "a private key beside the certificate",
        async () => [await variant({ ...alpha, certificate: alpha.certificate + keyPem }), b, c],
        (f) => `${f[0]}: certificate`,
        /holds a private key/,
      ],
      [
        "a bad ledger address",
        async () => [await variant({ ...alpha, ledgerAddress: "0x12" }), b, c],
        (f) => `${f[0]}: ledgerAddress`,
        /is not an address/,
      ],
      [
        "two nodes with one name",
        async () => [a, await variant({ ...beta, name: "alpha" }), c],
        (f) => `${f[1]}: name`,
        /"alpha" is also .*alpha\.public\.json's name/,
      ],
      [
        "two nodes with one certificate",
        async () => [a, await variant({ ...beta, certificate: alpha.certificate }), c],
        (f) => `${f[1]}: certificate`,
        /is the same certificate as .*alpha\.public\.json's certificate/,
      ],
      [
        "two nodes with one ledger key",
        async () => [a, await variant({ ...beta, ledgerAddress: alpha.ledgerAddress }), c],
        (f) => `${f[1]}: ledgerAddress`,
        /is also .*alpha\.public\.json's ledgerAddress: every node needs its own ledger key/,
      ],
      [
        "two nodes at one address",
        async () => [a, await variant({ ...beta, port: alpha.port }), c],
        (f) => `${f[1]}: port`,
        /127\.0\.0\.1:7500 is also .*alpha\.public\.json's port/,
      ],
      [
        "a client port at another node's address",
        async () => [a, await variant({ ...beta, clientPort: alpha.port }), c],
        (f) => `${f[1]}: clientPort`,
        /127\.0\.0\.1:7500 is also .*alpha\.public\.json's port/,
      ],
      [
        "two files that would write one certificate file",
        async () => [a, await variant(beta, "alpha.public.json"), c],
        (f) => f[1] as string,
        /would write its certificate to alpha\.crt\.pem, as .*alpha\/alpha\.public\.json does/,
      ],
      [
        "two files, not three",
        async () => [a, b],
        () => "(public descriptions)",
        /2 given; a configuration takes 3, one per node in party order/,
      ],
    ];
    for (const [what, files, path, message] of cases) {
      const out = join(folder, "bad", String(count));
      const inputs = await files();
      await assert.rejects(
        () => assembleNodeConfig(out, inputs),
        (error: unknown) => {
          assert.ok(error instanceof ValidationError, `${what}: ${String(error)}`);
          const issue = error.issues.find((candidate) => candidate.path === path(inputs));
          assert.ok(issue !== undefined, `${what}: no issue at ${path(inputs)}; issues:\n${error.message}`);
          assert.match(issue.message, message, what);
          return true;
        },
      );
      assert.equal(existsSync(out), false, `${what}: nothing written`);
    }
  });
});

describe("private key files", () => {
  it("refuses a key its group or others can read, naming the file and the fix", async () => {
    const exposed = join(folder, "exposed.key.pem");
    await copyFile((operators[0] as NodeKeyFiles).key, exposed);
    const config = await loadNodeConfig(configPath);
    for (const mode of [0o640, 0o604, 0o620]) {
      await chmod(exposed, mode);
      await assertIssue(
        () => readNodeKey(config, 0, exposed),
        exposed,
        new RegExp(
          `^the key is open to its group or others \\(mode 0${mode.toString(8)}\\).*chmod 600 ${exposed}$`,
        ),
      );
    }
    await chmod(exposed, 0o400);
    assert.match(readPrivateKeyFile(exposed), /^-----BEGIN PRIVATE KEY-----/, "owner-only is enough");
    await assertIssue(
      () => readPrivateKeyFile(join(folder, "none.key.pem")),
      join(folder, "none.key.pem"),
      /^cannot read the key \(ENOENT\)$/,
    );
  });

  it("refuses another node's key for a party", async () => {
    const config = await loadNodeConfig(configPath);
    const alphaKey = (operators[0] as NodeKeyFiles).key;
    await assertIssue(
      () => readNodeKey(config, 1, alphaKey),
      alphaKey,
      /is not the key of node 1 \(beta\)'s certificate/,
    );
  });
});

describe("the CLI", () => {
  it("node-key, node-config --assemble, and node refusing an exposed key", async () => {
    const keys = OPERATORS.map((name) => join(folder, "cli", name));
    for (const [party, name] of OPERATORS.entries()) {
      const argv = [
        "node-key",
        "--name",
        name,
        "--host",
        HOST,
        "--port",
        String(7700 + party),
        "--client-port",
        String(7800 + party),
        "--out",
        keys[party] as string,
      ];
      const made = await runCli(argv);
      assert.equal(made.code, 0, made.stderr);
      assert.match(
        made.stdout,
        new RegExp(`Send ${keys[party]}/${name}\\.public\\.json to the other two operators`),
      );
      const again = await runCli(argv);
      assert.equal(again.code, 2);
      assert.match(again.stderr, new RegExp(`${keys[party]}/${name}\\.key\\.pem: already exists`));
    }
    const shared = join(folder, "cli", "shared");
    const publics = OPERATORS.map((name, party) => join(keys[party] as string, `${name}.public.json`));
    const assembled = await runCli([
      "node-config",
      "--assemble",
      ...publics,
      "--out",
      shared,
      "--timeout-ms",
      "2000",
    ]);
    assert.equal(assembled.code, 0, assembled.stderr);
    assert.equal(assembled.stdout, `${join(shared, "nodes.json")}\n`);
    assert.equal((await loadNodeConfig(join(shared, "nodes.json"))).timeoutMs, 2000);
    const key = join(keys[0] as string, "alpha.key.pem");
    await chmod(key, 0o644);
    const node = await runCli(["node", "--config", join(shared, "nodes.json"), "--party", "0", "--key", key]);
    assert.equal(node.code, 2);
    assert.match(
      node.stderr,
      new RegExp(`${key}: the key is open to its group or others \\(mode 0644\\).*chmod 600 ${key}`),
    );
    for (const [argv, message] of [
      [
        ["node-config", "--assemble", ...publics, "--scenario", "default"],
        /option '--assemble <public-files...>' cannot be used with option '--scenario/,
      ],
      [
        ["node-config", "--registry", "registry.json", "--out", join(folder, "cli", "dev")],
        /--registry: goes with --assemble/,
      ],
    ] as const) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.match(run.stderr, message);
    }
  });
});
