/**
 * A client of the three nodes: shares its inputs to them over TLS (each node's certificate pinned
 * from the configuration), asks them to run a program, and rebuilds the outputs addressed to it.
 * @module
 */
import { randomUUID } from "node:crypto";
import { type ConnectionOptions, connect, type TLSSocket } from "node:tls";
import type { Shared } from "../../mpc/arithmetic.ts";
import {
  type NodeShares,
  type RandomWords,
  reconstruct,
  secureRandomWords,
  shareBitWords,
  shareInputs,
} from "../../mpc/client.ts";
import { decodeShares } from "../../mpc/encoding.ts";
import { certificateFingerprint, describeNode } from "../../mpc/transport/peers.ts";
import { TLS_CIPHER_SUITES } from "../../mpc/transport/tls.ts";
import { PARTIES, type PartyId } from "../../mpc/transport/types.ts";
import type { Signer } from "../../private/keys.ts";
import { parseWith } from "../../validation/index.ts";
import type { NodeConfig } from "./config.ts";
import {
  type JobReply,
  type JobStats,
  jobReplySchema,
  type Message,
  MessageSocket,
  type OutgoingBody,
  type OutgoingMessage,
} from "./jobs.ts";
import { signRequest } from "./signed-request.ts";

/** What a job gave this client. */
export interface JobOutcome {
  /** Node 0's public results (all three nodes report the same, unless the program answers each node's own). */
  public: unknown;
  /** Each node's public results, by party: a node's own opening of a line, its own signature. */
  publics: [unknown, unknown, unknown];
  /** The outputs addressed to this client, rebuilt from the three nodes' shares. */
  outputs: BigUint64Array;
  /** Each node's measurements, by party. */
  stats: [JobStats, JobStats, JobStats];
}

/** A node refused or failed a job; the message names the node and the reason. */
export class JobError extends Error {
  override readonly name = "JobError";
}

/** One node's reply: a header and its shares. */
export interface NodeReply {
  header: JobReply;
  body: Uint8Array;
}

/** Connections to the three nodes' client ports. */
export class NodeClient {
  readonly #config: NodeConfig;
  readonly #sockets: MessageSocket[];
  readonly #inboxes: Inbox[];

  private constructor(config: NodeConfig, sockets: MessageSocket[]) {
    this.#config = config;
    this.#sockets = sockets;
    this.#inboxes = sockets.map(
      (socket, party) => new Inbox(socket.messages(), describeNode(config, party as PartyId)),
    );
  }

  /** The nodes' configuration this client connected with (their names, addresses and ledger addresses). */
  get config(): NodeConfig {
    return this.#config;
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
   * own, and only this client can rebuild the outputs. `job` names it (a fresh id by default).
   * @throws {@link JobError} when a node refuses or fails the job, naming it.
   */
  async run(
    program: string,
    params: Record<string, unknown>,
    inputs: BigUint64Array,
    options: { bitWords?: BigUint64Array; random?: RandomWords; job?: string; signer?: Signer } = {},
  ): Promise<JobOutcome> {
    const job = options.job ?? randomUUID();
    const random = options.random ?? secureRandomWords;
    // Ring elements first, then bit words shared by XOR: the program knows where one ends.
    const arithmetic = shareInputs(inputs, random);
    const binary = shareBitWords(options.bitWords ?? new BigUint64Array(0), random);
    const { signer } = options;
    const auth =
      signer === undefined
        ? undefined
        : signRequest({ job, program, params }, signer.party, signer.key, Date.now());
    // A node's body is laid out as encodeShares(concat([arithmetic, binary])) would: its own
    // components, then the next ones; the parts are copied straight into the message.
    const body = (party: PartyId): OutgoingBody => [
      arithmetic[party].own,
      binary[party].own,
      arithmetic[party].next,
      binary[party].next,
    ];
    const replies = await this.exchange(
      PARTIES.map((party) => ({
        header: { type: "job", job, program, params, ...(auth === undefined ? {} : { auth }) },
        body: body(party),
      })) as [OutgoingMessage, OutgoingMessage, OutgoingMessage],
      replyKey(job),
      `job ${program}`,
    );
    const results = replies.map(({ header, body }, party) => {
      if (header.type !== "result")
        throw new JobError(
          `${describeNode(this.#config, party as PartyId)} answered job ${job} with a ${header.type}`,
        );
      return { header, shares: this.sharesOf(party as PartyId, body) };
    });
    return {
      public: (results[0] as (typeof results)[0]).header.public,
      publics: results.map((r) => r.header.public) as [unknown, unknown, unknown],
      outputs: reconstruct(results.map((r) => r.shares) as NodeShares),
      stats: results.map((r) => r.header.stats) as [JobStats, JobStats, JobStats],
    };
  }

  /**
   * Sends each node its message and waits for the three replies under `key` ({@link replyKey}).
   * @throws {@link JobError} when a node answers with an error or the connection breaks, naming it;
   * `what` names the request in the message.
   */
  async exchange(
    messages: readonly [OutgoingMessage, OutgoingMessage, OutgoingMessage],
    key: string,
    what: string,
  ): Promise<NodeReply[]> {
    for (const party of PARTIES) {
      const { header, body } = messages[party];
      (this.#sockets[party] as MessageSocket).send(header, body);
    }
    return this.waitForReplies(key, what);
  }

  /**
   * The three nodes' next replies under `key`.
   * @throws {@link JobError} when a node answers with an error or its connection breaks, naming it.
   */
  async waitForReplies(key: string, what: string): Promise<NodeReply[]> {
    const replies = await Promise.all(PARTIES.map((party) => (this.#inboxes[party] as Inbox).next(key)));
    const failures = replies.flatMap((reply, party) =>
      reply.header.type === "error"
        ? [{ node: describeNode(this.#config, party as PartyId), message: reply.header.message }]
        : [],
    );
    if (failures.length > 0) {
      // Refusals are agreed by all three nodes and name the nodes at fault: one copy says it all.
      const same = failures.every((f) => f.message === failures[0]?.message);
      const text = same ? failures[0]?.message : failures.map((f) => `${f.node}: ${f.message}`).join("; ");
      throw new JobError(`${what} failed: ${text}`);
    }
    return replies;
  }

  /** The three nodes' reply bodies as shares, rebuilt into the values behind them. */
  rebuild(replies: readonly NodeReply[]): BigUint64Array {
    return reconstruct(
      replies.map((reply, party) => this.sharesOf(party as PartyId, reply.body)) as NodeShares,
    );
  }

  /** A node's reply body as shares, whatever their count. */
  sharesOf(party: PartyId, body: Uint8Array): Shared {
    return decodeShares(body, body.length / 16, `${describeNode(this.#config, party)}'s output`);
  }

  close(): void {
    for (const socket of this.#sockets) socket.close();
  }

  /** Whether a connection to a node has ended or broken: the client then answers nothing more. */
  get broken(): boolean {
    return this.#inboxes.some((inbox) => inbox.gone);
  }
}

/** What a reply answers: a job, or one household's intent (or one meter's reading) of a slot. */
export function replyKey(job: string, order?: string): string {
  return order === undefined ? `job ${job}` : `order ${order} of ${job}`;
}

/**
 * One node's replies, routed by {@link replyKey} to whoever waits for them, kept until then. A
 * connection that ends or breaks fails every wait, naming the node.
 */
class Inbox {
  /** Replies nobody waited for yet, and waits with no reply yet, in order, by key. */
  readonly #arrived = new Map<string, NodeReply[]>();
  readonly #waiting = new Map<
    string,
    { resolve: (reply: NodeReply) => void; reject: (error: Error) => void }[]
  >();
  #failure: JobError | undefined;

  constructor(
    messages: AsyncGenerator<Message>,
    private readonly node: string,
  ) {
    void this.#read(messages);
  }

  /** Whether the connection has ended or broken. */
  get gone(): boolean {
    return this.#failure !== undefined;
  }

  /** The next reply under `key`: one key can carry several (an intent is held, then answered with commitments). */
  next(key: string): Promise<NodeReply> {
    const arrived = this.#arrived.get(key)?.shift();
    if (arrived !== undefined) return Promise.resolve(arrived);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.set(key, [...(this.#waiting.get(key) ?? []), { resolve, reject }]);
    });
  }

  async #read(messages: AsyncGenerator<Message>): Promise<void> {
    try {
      for await (const { header: raw, body } of messages) {
        const header = parseWith(jobReplySchema, raw);
        // A request the node could not even read names no job: it fails whatever waits.
        if (header.type === "error" && header.job === "") {
          this.#fail(new JobError(`${this.node}: ${header.message}`));
          continue;
        }
        const key = replyKey(
          header.job,
          header.type === "result" ? undefined : header.type === "reading" ? header.meter : header.order,
        );
        const waiter = this.#waiting.get(key)?.shift();
        if (waiter !== undefined) waiter.resolve({ header, body });
        else this.#arrived.set(key, [...(this.#arrived.get(key) ?? []), { header, body }]);
      }
      this.#fail(new JobError(`${this.node} closed the connection before answering`), true);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#fail(new JobError(`${this.node}: the connection broke (${reason})`), true);
    }
  }

  /** Fails every wait; a connection that is gone also fails every later one. */
  #fail(error: JobError, gone = false): void {
    if (gone) this.#failure = error;
    for (const waits of this.#waiting.values()) for (const { reject } of waits) reject(error);
    this.#waiting.clear();
  }
}

/** How a client dials node `party`'s client port over TLS, with the node's configured certificate pinned. */
export function pinnedTlsOptions(config: NodeConfig, party: PartyId): ConnectionOptions {
  const node = config.nodes[party];
  const expected = certificateFingerprint(node.certificatePem);
  return {
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
  };
}

function connectToNode(config: NodeConfig, party: PartyId): Promise<TLSSocket> {
  const node = config.nodes[party];
  return new Promise((resolve, reject) => {
    const socket = connect(pinnedTlsOptions(config, party));
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
