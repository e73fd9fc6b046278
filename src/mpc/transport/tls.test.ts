/**
 * The TLS mesh against the transport contract (three nodes in this process, on free loopback ports),
 * and what only it must survive: certificates outside the configuration or of another node, a peer
 * sending an oversized length or dying mid-frame, and a peer process killed outright.
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  assertPeerError,
  assertSameFrame,
  runTransportContract,
  taggedFrame,
} from "../../../test/support/transport.contract.ts";
import {
  generateNodeConfig,
  keyPathFor,
  loadNodeConfig,
  type NodeConfig,
} from "../../roles/mpc-node/config.ts";
import { freePorts } from "../../system/processes.ts";
import { encodeFrameHeader } from "./frames.ts";
import { connectTls, dialRawForTest } from "./tls.ts";
import type { PartyId, Transport, TransportOptions } from "./types.ts";

const HOST = "127.0.0.1";

/** Three ports nothing listens on right now. */
async function freePortTriple(): Promise<[number, number, number]> {
  const [a, b, c] = await freePorts(3);
  return [a ?? 0, b ?? 0, c ?? 0];
}

/** The configuration with fresh free ports. */
async function onFreePorts(config: NodeConfig): Promise<NodeConfig> {
  const [port0, port1, port2] = await freePortTriple();
  const [node0, node1, node2] = config.nodes;
  return {
    ...config,
    nodes: [
      { ...node0, port: port0 },
      { ...node1, port: port1 },
      { ...node2, port: port2 },
    ],
  };
}

let folder = "";
let configPath = "";
let baseConfig: NodeConfig;
let keys: [string, string, string];
/** A second, unrelated set of certificates: none of them is in `baseConfig`. */
let strangerConfigPath = "";

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "tls-transport-"));
  configPath = await generateNodeConfig(join(folder, "nodes"), { host: HOST, basePort: 7100 });
  strangerConfigPath = await generateNodeConfig(join(folder, "strangers"), { host: HOST, basePort: 7200 });
  baseConfig = await loadNodeConfig(configPath);
  const readKey = (party: PartyId) => readFile(keyPathFor(configPath, party), "utf8");
  keys = await Promise.all([readKey(0), readKey(1), readKey(2)]);
});

after(async () => {
  if (folder !== "") await rm(folder, { recursive: true, force: true });
});

/** Connects one party on `config` with the suite's keys. */
function connectParty(config: NodeConfig, party: PartyId, options: TransportOptions): Promise<Transport> {
  return connectTls(config, party, keys[party], options);
}

runTransportContract("TLS", async (options) => {
  const config = await onFreePorts(baseConfig);
  return Promise.all([
    connectParty(config, 0, options),
    connectParty(config, 1, options),
    connectParty(config, 2, options),
  ]);
});

describe("connectTls", { timeout: 120_000 }, () => {
  it("sets up whatever order the nodes start in", async () => {
    const config = await onFreePorts(baseConfig);
    // The highest party first: it must retry until the others listen.
    const third = connectTls(config, 2, keys[2], { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = connectTls(config, 1, keys[1], { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const first = connectTls(config, 0, keys[0], { timeoutMs: 20_000 });
    const transports = await Promise.all([first, second, third]);
    transports[2].send(0, taggedFrame(1, 10));
    assertSameFrame(await transports[0].receive(2), taggedFrame(1, 10), "frame after a staggered start");
    await Promise.all(transports.map((transport) => transport.close()));
  });

  it("refuses a private key that is not the party's", async () => {
    const config = await onFreePorts(baseConfig);
    await assert.rejects(
      connectTls(config, 0, keys[1], { timeoutMs: 500 }),
      /node 0 \(node-a\) does not belong/,
    );
  });

  it("names the node it could not reach within the timeout", async () => {
    const config = await onFreePorts(baseConfig);
    await assertPeerError(
      connectTls(config, 1, keys[1], { timeoutMs: 500 }),
      0,
      new RegExp(`^could not reach node 0 \\(node-a\\) at ${HOST}:${config.nodes[0].port} within 500 ms`),
    );
  });

  it("refuses a peer whose certificate is not in the configuration, and says so when setup times out", async () => {
    const config = await onFreePorts(baseConfig);
    const setups = [
      connectParty(config, 0, { timeoutMs: 3000 }),
      connectParty(config, 1, { timeoutMs: 3000 }),
    ];
    for (const setup of setups) setup.catch(() => {});
    const stranger = await loadNodeConfig(strangerConfigPath);
    await assert.rejects(
      dialRawForTest({
        config,
        as: 2,
        to: 0,
        privateKeyPem: await readFile(keyPathFor(strangerConfigPath, 2), "utf8"),
        certificatePem: stranger.nodes[2].certificatePem,
        timeoutMs: 3000,
      }),
      /refused node 2/,
    );
    await assertPeerError(
      setups[0] as Promise<Transport>,
      2,
      /^node 2 \(node-c\) did not connect to node 0 \(node-a\) .* within 3000 ms \(last rejected: a TLS handshake from .* failed/,
    );
    await assertPeerError(setups[1] as Promise<Transport>, 2, /^node 2 \(node-c\) did not connect/);
  });

  it("refuses a node presenting another configured node's certificate (the certificate is pinned)", async () => {
    const config = await onFreePorts(baseConfig);
    const setups = [
      connectParty(config, 0, { timeoutMs: 20_000 }),
      connectParty(config, 1, { timeoutMs: 20_000 }),
    ];
    // Node 1's own certificate and key, claiming to be node 2.
    await assert.rejects(
      dialRawForTest({
        config,
        as: 2,
        to: 0,
        privateKeyPem: keys[1],
        certificatePem: config.nodes[1].certificatePem,
        timeoutMs: 5000,
      }),
      /refused node 2/,
    );
    // The real node 2 still gets in.
    const transports = await Promise.all([...setups, connectTls(config, 2, keys[2], { timeoutMs: 20_000 })]);
    transports[2]?.send(0, taggedFrame(3, 3));
    assertSameFrame(
      await (transports[0] as Transport).receive(2),
      taggedFrame(3, 3),
      "frame from the real node 2",
    );
    await Promise.all(transports.map((transport) => transport.close()));
  });

  it("refuses a listener whose certificate is not its configured one", async () => {
    const config = await onFreePorts(baseConfig);
    const [node0, node1, node2] = config.nodes;
    // Node 1 believes node 0 has node 2's certificate.
    const confused: NodeConfig = {
      ...config,
      nodes: [{ ...node0, certificatePem: node2.certificatePem }, node1, node2],
    };
    const listening = connectTls(config, 0, keys[0], { timeoutMs: 3000 });
    listening.catch(() => {});
    await assertPeerError(
      connectTls(confused, 1, keys[1], { timeoutMs: 3000 }),
      0,
      /^node 0 \(node-a\) at .* failed TLS authentication/,
    );
    await assertPeerError(listening, 1, /did not connect/);
  });

  it("a peer sending an oversized length, or dying mid-frame, fails the receive naming it", async () => {
    const config = await onFreePorts(baseConfig);
    const raw = (to: PartyId) =>
      dialRawForTest({
        config,
        as: 2,
        to,
        privateKeyPem: keys[2],
        certificatePem: config.nodes[2].certificatePem,
        timeoutMs: 20_000,
      });
    const [[first, second], [toFirst, toSecond]] = await Promise.all([
      Promise.all([
        connectParty(config, 0, { timeoutMs: 20_000 }),
        connectParty(config, 1, { timeoutMs: 20_000 }),
      ]),
      Promise.all([raw(0), raw(1)]),
    ]);
    try {
      // A whole frame, then a header announcing 4 GB.
      toFirst.write(Buffer.concat([encodeFrameHeader(2), Buffer.from([7, 8])]));
      toFirst.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
      assert.deepEqual([...(await first.receive(2))], [7, 8], "the frame before the bad header arrives");
      await assertPeerError(first.receive(2), 2, /^node 2 \(node-c\) sent an oversized frame/);

      // Half a frame, then the connection dies.
      await new Promise<void>((resolve, reject) =>
        toSecond.write(Buffer.concat([encodeFrameHeader(100), Buffer.alloc(10)]), (error?: Error | null) =>
          error ? reject(error) : resolve(),
        ),
      );
      toSecond.destroy();
      await assertPeerError(
        second.receive(2),
        2,
        /^node 2 \(node-c\) closed the connection mid-frame: truncated frame/,
      );

      // Nodes 0 and 1 are unaffected.
      first.send(1, taggedFrame(4, 40));
      assertSameFrame(await second.receive(0), taggedFrame(4, 40), "frame between the survivors");
    } finally {
      toFirst.destroy();
      toSecond.destroy();
      await Promise.all([first.close(), second.close()]);
    }
  });

  it("a killed peer process fails the receives from it, naming it", async () => {
    const childFolder = join(folder, "child");
    const ports = await freePortTriple();
    const childConfigPath = await generateNodeConfig(childFolder, { host: HOST, basePort: 0, ports });
    const config = await loadNodeConfig(childConfigPath);
    const childKeys = await Promise.all(
      [0, 1].map((party) => readFile(keyPathFor(childConfigPath, party as PartyId), "utf8")),
    );
    const setups = [0, 1].map((party) =>
      connectTls(config, party as PartyId, childKeys[party] as string, { timeoutMs: 20_000 }),
    );
    const script = `
      const { readFile } = await import("node:fs/promises");
      const { keyPathFor, loadNodeConfig } = await import(${JSON.stringify(new URL("../../roles/mpc-node/config.ts", import.meta.url).href)});
      const { connectTls } = await import(${JSON.stringify(new URL("./tls.ts", import.meta.url).href)});
      const path = ${JSON.stringify(childConfigPath)};
      const config = await loadNodeConfig(path);
      const transport = await connectTls(config, 2, await readFile(keyPathFor(path, 2), "utf8"), { timeoutMs: 20000 });
      transport.send(0, new Uint8Array([42]));
      process.kill(process.pid, "SIGKILL");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], {
      cwd: fileURLToPath(new URL("../../../", import.meta.url)),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let childErrors = "";
    child.stderr.on("data", (chunk: Buffer) => {
      childErrors += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    const [first, second] = (await Promise.all(setups)) as [Transport, Transport];
    try {
      assert.equal(await exited, "SIGKILL", `the child killed itself (stderr: ${childErrors})`);
      // The frame sent just before the kill may or may not have left the child: skip it if it came.
      const failure = async (transport: Transport) => {
        for (;;) {
          const frame = await transport.receive(2);
          assert.deepEqual([...frame], [42], "the only frame node 2 sent");
        }
      };
      await assertPeerError(failure(first), 2, /^node 2 \(node-c\) closed the connection/);
      await assertPeerError(failure(second), 2, /^node 2 \(node-c\) closed the connection/);
    } finally {
      child.kill();
      await Promise.all([first.close(), second.close()]);
    }
  });
});
