import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { seededWords } from "../../../test/support/mpc.ts";
import { rawConnection } from "../../../test/support/nodes.ts";
import { JobError, NodeClient } from "./client.ts";
import { type LocalCluster, startLocalCluster } from "./local-cluster.ts";

/** Three `snippet node` processes over TLS, shared by the tests that leave them running. */
describe("nodes as separate processes over TLS", () => {
  let cluster: LocalCluster;
  let client: NodeClient;
  before(async () => {
    cluster = await startLocalCluster();
    client = await NodeClient.connect(cluster.config);
  });
  after(async () => {
    client.close();
    await cluster.stop();
  });

  const n = 2000;
  const a = seededWords(1)(n).map((w) => w >> 2n);
  const b = seededWords(2)(n).map((w) => w >> 2n);
  b.set(a.subarray(0, 100));
  const pair = new BigUint64Array([...a, ...b]);

  it("multiply, compare and test equality like plain 64-bit arithmetic", async () => {
    const product = await client.run("multiply", { n, depth: 1 }, pair);
    const below = await client.run("compare", { n, bits: 63 }, pair);
    const equal = await client.run("equals", { n, bits: 64 }, pair);
    for (let i = 0; i < n; i++) {
      const [x, y] = [a[i] as bigint, b[i] as bigint];
      assert.equal(product.outputs[i], BigInt.asUintN(64, x * y), `product ${i}`);
      assert.equal(below.outputs[i], x < y ? 1n : 0n, `${x} < ${y}`);
      assert.equal(equal.outputs[i], x === y ? 1n : 0n, `${x} = ${y}`);
    }
    for (const stats of below.stats) assert.equal(stats.rounds, 9, "a 63-bit comparison takes 9 rounds");
  });

  it("take a job's inputs above the small body limit: without a registry every client runs on its own data", async () => {
    const pairs = 40_000; // 80,000 input words: 1.28 MB of shares per node
    const large = seededWords(3)(2 * pairs).map((w) => w >> 2n);
    const product = await client.run("multiply", { n: pairs, depth: 1 }, large);
    assert.equal(
      product.outputs[pairs - 1],
      BigInt.asUintN(64, (large[pairs - 1] as bigint) * (large[2 * pairs - 1] as bigint)),
    );
  });

  it("shuffle rows into a secret order", async () => {
    const shuffled = await client.run("shuffle", { rows: n, columns: 1 }, a);
    assert.deepEqual(shuffled.outputs.slice().sort(), a.slice().sort(), "same values");
    assert.notDeepEqual(shuffled.outputs, a, "another order");
  });

  it("refuse bad requests with the field at fault, and keep serving", async () => {
    const cases: [string, Record<string, unknown>, BigUint64Array, RegExp][] = [
      [
        "sort",
        { n: 1 },
        new BigUint64Array(1),
        /unknown program "sort"; known: multiply, compare, equals, shuffle/,
      ],
      ["compare", { n: 2, bits: 99 }, new BigUint64Array(4), /params\.bits: 99 is above 64 bits/],
      ["compare", { n: 2 }, new BigUint64Array(4), /params\.bits: missing is not a number/],
      ["compare", { n: 2, bits: 8, extra: 1 }, new BigUint64Array(4), /params: unknown field "extra"/],
      ["multiply", { n: 3, depth: 1 }, new BigUint64Array(4), /the input body has 64 bytes where 96/],
    ];
    for (const [program, params, inputs, message] of cases) {
      await assert.rejects(client.run(program, params, inputs), (error: unknown) => {
        assert.ok(error instanceof JobError, `a job error for ${program}`);
        assert.match(error.message, message);
        assert.match(
          error.message,
          /node 0 \(node-a\), node 1 \(node-b\), node 2 \(node-c\)/,
          "names the nodes",
        );
        return true;
      });
    }
    const after = await client.run("multiply", { n: 1, depth: 1 }, new BigUint64Array([6n, 7n]));
    assert.deepEqual(after.outputs, new BigUint64Array([42n]), "the next job runs");
  });

  it("drop a client that breaks the framing, and keep serving the others", async () => {
    const socket = await rawConnection(cluster, 1);
    // A header frame of 5 bytes that is not JSON.
    socket.write(Buffer.from([0, 0, 0, 5, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b]));
    let told = "";
    socket.on("data", (chunk: Buffer) => {
      told += chunk.toString("utf8");
    });
    await once(socket, "close");
    assert.match(told, /cut off: \(input\): is not valid JSON/, "the client is told why");
    const after = await client.run("multiply", { n: 1, depth: 1 }, new BigUint64Array([3n, 5n]));
    assert.deepEqual(after.outputs, new BigUint64Array([15n]), "the nodes still serve");
  });

  it("refuse a node whose certificate is not the configured one", async () => {
    const [node0, node1, node2] = cluster.config.nodes;
    const forged = {
      ...cluster.config,
      nodes: [{ ...node0, certificatePem: node1.certificatePem }, node1, node2] as const,
    };
    await assert.rejects(NodeClient.connect(forged), /node 0 \(node-a\)/);
  });
});
