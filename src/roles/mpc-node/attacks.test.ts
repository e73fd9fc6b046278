import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { TLSSocket } from "node:tls";
import { seededWords } from "../../../test/support/mpc.ts";
import { rawConnection, twoHouseholds } from "../../../test/support/nodes.ts";
import type { HouseholdIntent } from "../../market/index.ts";
import { encodeFrameHeader, FrameReader } from "../../mpc/transport/frames.ts";
import { OPERATOR_ID } from "../../private/registry.ts";
import { submitIntent } from "../household/intent.ts";
import { JobError, NodeClient } from "./client.ts";
import { MessageSocket } from "./jobs.ts";
import type { ClientLimitsFile } from "./limits.ts";
import { type LocalCluster, startLocalCluster } from "./local-cluster.ts";
import { signRequest } from "./signed-request.ts";

const { generated: GENERATED, registry: REGISTRY, signer } = twoHouseholds();

/** Small limits, so that a test reaches each with a few messages. */
const LIMITS = {
  connectionsPerAddress: 6,
  headerBytes: 64 * 1024,
  bodyBytes: 8 * 1024,
  pendingJobsPerClient: 2,
  jobsPerSecond: 1,
  jobBurst: 12,
  refusalsPerSecond: 1,
  refusalBurst: 5,
} satisfies ClientLimitsFile;

/** Every message a node sends on a raw connection until it closes it. */
async function repliesUntilClosed(socket: TLSSocket): Promise<unknown[]> {
  const headers: unknown[] = [];
  const messages = new MessageSocket(socket).messages();
  try {
    for await (const { header } of messages) headers.push(header);
  } catch {
    // A connection cut mid-message still tells what came before.
  }
  return headers;
}

/** The first message a node sends on a raw connection. */
async function firstReply(socket: TLSSocket): Promise<Record<string, unknown>> {
  const reader = new FrameReader();
  for await (const chunk of socket) {
    reader.push(chunk as Uint8Array);
    const frame = reader.next();
    if (frame !== undefined) return JSON.parse(Buffer.from(frame).toString("utf8"));
  }
  throw new Error("the node closed the connection without a word");
}

const intentFor = (id: string): HouseholdIntent => ({ id, side: "buy", volumeWh: 100, limitPrice: 1000 });

describe("a node's client port under attack: each attacker refused or cut off alone, the market going on", () => {
  let cluster: LocalCluster;
  let client: NodeClient;
  const pair = new BigUint64Array(seededWords(7)(40).map((w) => w >> 2n));

  before(async () => {
    cluster = await startLocalCluster({ registry: GENERATED, limits: LIMITS });
    client = await NodeClient.connect(cluster.config);
  });
  after(async () => {
    client.close();
    await cluster.stop();
  });

  /** The operator's work still runs, for the operator. */
  const marketGoesOn = async () => {
    const product = await client.run("multiply", { n: 20, depth: 1 }, pair, { signer: signer(OPERATOR_ID) });
    assert.equal(product.outputs[0], BigInt.asUintN(64, (pair[0] as bigint) * (pair[20] as bigint)));
  };

  it("cuts off a client whose frame header announces more than the limit, before reading it", async () => {
    const socket = await rawConnection(cluster, 1);
    socket.write(encodeFrameHeader(2 * 1024 * 1024));
    const [reply] = await repliesUntilClosed(socket);
    assert.match(
      (reply as { message: string }).message,
      /cut off: oversized frame: the header announces 2097152 bytes, above the maximum of 65536/,
    );
    await marketGoesOn();
  });

  it("takes a large body from the operator only: a household's is cut off at the small limit", async () => {
    const job = "big-body";
    const params = { n: 1000, depth: 1 };
    const auth = signRequest({ job, program: "multiply", params }, "h0", signer("h0").key, Date.now());
    const socket = await rawConnection(cluster, 2);
    const header = Buffer.from(JSON.stringify({ type: "job", job, program: "multiply", params, auth }));
    socket.write(Buffer.concat([encodeFrameHeader(header.length), header, encodeFrameHeader(32_000)]));
    const [reply] = await repliesUntilClosed(socket);
    assert.match((reply as { message: string }).message, /above the maximum of 8192/);
    const large = new BigUint64Array(seededWords(8)(2000).map((w) => w >> 2n));
    const product = await client.run("multiply", params, large, { signer: signer(OPERATOR_ID) });
    assert.equal(product.outputs.length, 1000, "the operator's 32 kB of shares are taken");
  });

  it("refuses connections from one address beyond its limit, and takes them again once some close", async () => {
    // The test's own client holds one connection to each node.
    const sockets = await Promise.all(
      Array.from({ length: LIMITS.connectionsPerAddress - 1 }, () => rawConnection(cluster, 0)),
    );
    const refused = await rawConnection(cluster, 0);
    assert.match(
      String((await firstReply(refused)).message),
      /127\.0\.0\.1 has 6 connections open already, the most one address may/,
    );
    for (const socket of sockets) socket.destroy();
    await marketGoesOn();
    // The node counts a connection out when it has closed: poll until a new one is served.
    for (;;) {
      const again = await rawConnection(cluster, 0);
      const bad = Buffer.from(JSON.stringify({ type: "nonsense" }));
      again.write(Buffer.concat([encodeFrameHeader(bad.length), bad, encodeFrameHeader(0)]));
      const reply = await firstReply(again);
      again.destroy();
      if (/bad request/.test(String(reply.message))) break;
    }
  });

  it("cuts off a connection that keeps sending what is refused, and only it", async () => {
    const socket = await rawConnection(cluster, 0);
    const junk = Buffer.from(JSON.stringify({ type: "job", job: "x", program: "multiply" }));
    const frames = Array.from({ length: 20 }, () =>
      Buffer.concat([encodeFrameHeader(junk.length), junk, encodeFrameHeader(0)]),
    );
    socket.write(Buffer.concat(frames));
    const replies = (await repliesUntilClosed(socket)) as { message: string }[];
    assert.ok(replies.length <= LIMITS.refusalBurst + 2, `cut off after ${replies.length} replies`);
    assert.match(replies.at(-1)?.message ?? "", /cut off: more than 5 refused messages/);
    assert.match(replies[0]?.message ?? "", /bad request: params: /);
    await marketGoesOn();
  });

  it("refuses a party's jobs beyond its rate and beyond the jobs it may have waiting, naming it", async () => {
    // A connection of its own: the refusals count against it, and at last it is cut off.
    const own = await NodeClient.connect(cluster.config);
    const h1 = signer("h1");
    const ask = () =>
      own.run("multiply", { n: 20, depth: 1 }, pair, { signer: h1 }).then(
        () => "ran",
        (error: unknown) => (error instanceof JobError ? error.message : String(error)),
      );
    try {
      // Generic programs are the operator's: each of h1's jobs is refused at its turn, but first it waits.
      const burst = await Promise.all(Array.from({ length: 4 }, ask));
      assert.ok(
        burst.some((outcome) => /h1 has 2 jobs waiting already, the most one client may/.test(outcome)),
        burst.join("\n"),
      );
      const outcomes: string[] = [];
      while (outcomes.length < 3 * LIMITS.jobBurst && !/a second/.test(outcomes.at(-1) ?? ""))
        outcomes.push(await ask());
      assert.match(outcomes.at(-1) ?? "", /h1 asked for more than 1 jobs a second/);
    } finally {
      own.close();
    }
    await marketGoesOn();
  });

  it("refuses a household's intents for more open slots than it may hold", async () => {
    const slots = Array.from({ length: 9 }, (_, k) => `2026-06-02T${String(k).padStart(2, "0")}:00:00Z`);
    for (const slot of slots.slice(0, 8))
      await submitIntent(client, REGISTRY, slot, intentFor("h0"), signer("h0"));
    await assert.rejects(
      submitIntent(client, REGISTRY, slots[8] as string, intentFor("h0"), signer("h0")),
      /h0 holds intents for 8 open slots already, the most one household may/,
    );
    // Another household is not held back by h0's junk slots.
    await submitIntent(client, REGISTRY, slots[8] as string, intentFor("h1"), signer("h1"));
  });
});

describe("a client that leaves its replies unread", () => {
  it("is cut off once they pass the limit, instead of being buffered without end", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address() as { port: number };
    const reader = netConnect(address.port, "127.0.0.1");
    const [accepted] = (await once(server, "connection")) as [Socket];
    reader.pause();
    let cut = 0;
    const replies = new MessageSocket(accepted, {
      headerBytes: 1024,
      bodyBytes: () => 1024,
      unreadReplyBytes: 4 * 1024 * 1024,
      onSlowReader: (unread) => {
        cut = unread;
      },
    });
    const chunk = new Uint8Array(1024 * 1024);
    for (let k = 0; k < 64 && cut === 0; k++) replies.send({ type: "result" }, chunk);
    assert.ok(cut > 4 * 1024 * 1024, `cut with ${cut} bytes unread`);
    assert.ok(accepted.destroyed, "the connection is closed");
    reader.destroy();
    server.close();
  });
});
