/**
 * A client of the three nodes: shares its inputs to them over TLS (each node's certificate pinned
 * from the configuration), asks them to run a program, and rebuilds the outputs addressed to it.
 * @module
 */
import { randomUUID } from "node:crypto";
import { connect, type TLSSocket } from "node:tls";
import { parseWith } from "../validation/index.ts";
import { concat } from "./arithmetic.ts";
import {
  type NodeShares,
  type RandomWords,
  reconstruct,
  secureRandomWords,
  shareBitWords,
  shareInputs,
} from "./client.ts";
import {
  decodeShares,
  encodeShares,
  type JobReply,
  type JobStats,
  jobReplySchema,
  type Message,
  MessageSocket,
} from "./jobs.ts";
import { certificateFingerprint, describeNode, type NodeConfig } from "./node-config.ts";
import { TLS_CIPHER_SUITES } from "./transport/tls.ts";
import { PARTIES, type PartyId } from "./transport/types.ts";

/** What a job gave this client. */
export interface JobOutcome {
  /** Node 0's public results (all three nodes report the same). */
  public: unknown;
  /** The outputs addressed to this client, rebuilt from the three nodes' shares. */
  outputs: BigUint64Array;
  /** Each node's measurements, by party. */
  stats: [JobStats, JobStats, JobStats];
}

/** A node refused or failed a job; the message names the node and the reason. */
export class JobError extends Error {
  override readonly name = "JobError";
}

/** Connections to the three nodes' client ports. */
export class NodeClient {
  readonly #config: NodeConfig;
  readonly #sockets: MessageSocket[];
  readonly #replies: AsyncGenerator<Message>[];

  private constructor(config: NodeConfig, sockets: MessageSocket[]) {
    this.#config = config;
    this.#sockets = sockets;
    this.#replies = sockets.map((s) => s.messages());
  }

  /** Connects to all three nodes, accepting from each only the certificate the configuration names. */
  static async connect(config: NodeConfig): Promise<NodeClient> {
    const attempts = await Promise.allSettled(PARTIES.map((party) => connectToNode(config, party)));
    const sockets = attempts.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
    const failure = attempts.find((a) => a.status === "rejected");
    if (failure !== undefined) {
      // Close what did connect, or those sockets would keep the process alive.
      for (const socket of sockets) socket.destroy();
      throw failure.reason;
    }
    return new NodeClient(
      config,
      sockets.map((socket) => new MessageSocket(socket)),
    );
  }

  /**
   * Runs a program on secret inputs: the values are split into shares here, each node gets only its
   * own, and only this client can rebuild the outputs.
   * @throws {@link JobError} when a node refuses or fails the job, naming it.
   */
  async run(
    program: string,
    params: Record<string, unknown>,
    inputs: BigUint64Array,
    options: { bitWords?: BigUint64Array; random?: RandomWords } = {},
  ): Promise<JobOutcome> {
    const job = randomUUID();
    const random = options.random ?? secureRandomWords;
    // Ring elements first, then bit words shared by XOR: the program knows where one ends.
    const arithmetic = shareInputs(inputs, random);
    const binary = shareBitWords(options.bitWords ?? new BigUint64Array(0), random);
    const shares = PARTIES.map((party) => concat([arithmetic[party], binary[party]]));
    for (const party of PARTIES) {
      (this.#sockets[party] as MessageSocket).send(
        { type: "job", job, program, params },
        encodeShares(shares[party]),
      );
    }
    const replies = await Promise.all(PARTIES.map((party) => this.#reply(party, job)));
    const failures = replies.flatMap((reply, party) =>
      reply.header.type === "error"
        ? [{ node: describeNode(this.#config, party as PartyId), message: reply.header.message }]
        : [],
    );
    if (failures.length > 0) {
      // Refusals are agreed by all three nodes and name the nodes at fault: one copy says it all.
      const same = failures.every((f) => f.message === failures[0]?.message);
      const text = same ? failures[0]?.message : failures.map((f) => `${f.node}: ${f.message}`).join("; ");
      throw new JobError(`job ${program} failed: ${text}`);
    }
    const results = replies.map(({ header, body }, party) => {
      if (header.type !== "result") throw new JobError("unreachable");
      const words = body.length / 16;
      return {
        header,
        shares: decodeShares(body, words, `${describeNode(this.#config, party as PartyId)}'s output`),
      };
    });
    return {
      public: (results[0] as (typeof results)[0]).header.public,
      outputs: reconstruct(results.map((r) => r.shares) as NodeShares),
      stats: results.map((r) => r.header.stats) as [JobStats, JobStats, JobStats],
    };
  }

  async #reply(party: PartyId, job: string): Promise<{ header: JobReply; body: Uint8Array }> {
    const node = describeNode(this.#config, party);
    const next = await (this.#replies[party] as AsyncGenerator<Message>).next().catch((error: unknown) => {
      throw new JobError(
        `${node}: the connection broke (${error instanceof Error ? error.message : String(error)})`,
      );
    });
    if (next.done === true) throw new JobError(`${node} closed the connection before answering`);
    const header = parseWith(jobReplySchema, next.value.header);
    if (header.job !== job && header.job !== "") {
      throw new JobError(`${node} answered job ${header.job} where ${job} was due`);
    }
    return { header, body: next.value.body };
  }

  close(): void {
    for (const socket of this.#sockets) socket.close();
  }
}

function connectToNode(config: NodeConfig, party: PartyId): Promise<TLSSocket> {
  const node = config.nodes[party];
  const expected = certificateFingerprint(node.certificatePem);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: node.host,
      port: node.clientPort,
      ca: [node.certificatePem],
      minVersion: "TLSv1.3",
      ciphers: TLS_CIPHER_SUITES,
      // The certificate is pinned: it must be exactly the configured one, whatever host name it names.
      checkServerIdentity: (_host, certificate) =>
        certificate.fingerprint256 === expected
          ? undefined
          : new Error(`${describeNode(config, party)} presented a certificate other than the configured one`),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new JobError(
          `could not reach ${describeNode(config, party)} at ${node.host}:${node.clientPort} within ${config.timeoutMs} ms`,
        ),
      );
    }, config.timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(new JobError(`${describeNode(config, party)}: ${error.message}`));
    });
  });
}
