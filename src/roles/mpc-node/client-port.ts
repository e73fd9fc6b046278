/**
 * A node's client port: who may connect and what each client may cost (ClientGate), the loop that
 * reads a client's messages into the job board or the application's intake, and the outbox that
 * holds back every answer until what it reports is durable and, for a job, committed.
 * @module
 */
import { createServer, type Server, type TLSSocket } from "node:tls";
import { TLS_CIPHER_SUITES } from "../../mpc/transport/tls.ts";
import type { Replier } from "../../private/context.ts";
import { describeError, parseWith } from "../../validation/index.ts";
import type { JobBoard } from "./job-board.ts";
import { type JobRequest, jobRequestSchema, MessageSocket } from "./jobs.ts";
import { type ClientLimits, Counter, RateLimiter } from "./limits.ts";
import type { NodeApplication, NodeLog } from "./node-application.ts";
import type { RequestGuard } from "./signed-request.ts";

/** What the client port needs of its node. */
export interface ClientPortNode {
  readonly jobs: JobBoard;
  readonly gate: ClientGate;
  readonly outbox: Outbox;
  readonly log: NodeLog;
  /** The current application's intake handlers. */
  intake(): NodeApplication["intake"];
  /** Why the node takes no job requests now (its mesh is down), or undefined. */
  closedForJobs(): string | undefined;
}

/** A send held back, and whether it only tells of an error (which may go out even if its job fails). */
interface HeldSend {
  readonly send: () => void;
  readonly error: boolean;
}

/**
 * Holds back what the node tells clients until it may: an intake message's answer until its change
 * is written, a job's messages to third parties (a household's commitments) until the job commits.
 */
export class Outbox {
  #intakeSends: HeldSend[] | undefined;
  #jobSends: HeldSend[] | undefined;

  /**
   * @param written resolves once the intake's changes recorded so far are written
   * @param onStoreFailure told when they cannot be: the node must stop, as it cannot keep its word
   */
  constructor(
    private readonly written: () => Promise<void>,
    private readonly onStoreFailure: (error: unknown) => void,
  ) {}

  /** Where a client's answers go, through this outbox. */
  replier(client: MessageSocket): Replier {
    return {
      send: (header, body) => {
        const held: HeldSend = {
          send: () => client.send(header, body),
          error: (header as { type?: unknown }).type === "error",
        };
        if (this.#intakeSends !== undefined) this.#intakeSends.push(held);
        else if (this.#jobSends !== undefined) this.#jobSends.push(held);
        else held.send();
      },
    };
  }

  /** Runs an intake handler (synchronous): what it sends goes out once the changes it made are written. */
  intake<T>(handle: () => T): T {
    const sends: HeldSend[] = [];
    this.#intakeSends = sends;
    try {
      return handle();
    } finally {
      this.#intakeSends = undefined;
      if (sends.length > 0)
        this.written().then(
          () => {
            for (const held of sends) held.send();
          },
          (error: unknown) => this.onStoreFailure(error),
        );
    }
  }

  /** A job starts: what it sends is held until it ends. */
  beginJob(): void {
    this.#jobSends = [];
  }

  /** The job committed: everything it sent goes out. */
  commitJob(): void {
    for (const held of this.#endJob()) held.send();
  }

  /** The job failed: only its messages of errors go out (the nodes did not commit its results). */
  abortJob(): void {
    for (const held of this.#endJob()) if (held.error) held.send();
  }

  #endJob(): HeldSend[] {
    const sends = this.#jobSends ?? [];
    this.#jobSends = undefined;
    return sends;
  }
}

/** A header read as a job request, with who signed it (or why the signature is refused); empty when it is no job request. */
interface HeaderVerdict {
  readonly request?: JobRequest;
  readonly signer?: ReturnType<RequestGuard["verify"]>;
}

/**
 * What the client port lets one client cost: connections per address, message sizes (a body's
 * limit decided from its header, by who signed it), waiting jobs and job rate per party, and refused
 * messages per connection.
 */
export class ClientGate {
  readonly #connections = new Counter();
  readonly #pending = new Counter();
  readonly #jobRate: RateLimiter;
  readonly #refusalRate: RateLimiter;
  #serial = 0;
  /** Each job request header read once: its body's limit is chosen from it before it is queued. */
  readonly #verdicts = new WeakMap<object, HeaderVerdict>();

  /** @param guard the node's check of signed requests (it changes when the node rebuilds its state) */
  constructor(
    readonly limits: ClientLimits,
    private readonly guard: () => RequestGuard,
    clock: () => number,
  ) {
    this.#jobRate = new RateLimiter(limits.jobsPerSecond, limits.jobBurst, clock);
    this.#refusalRate = new RateLimiter(limits.refusalsPerSecond, limits.refusalBurst, clock);
  }

  /** A header as a job request and its signer, parsed and verified once (the signature costs most). */
  #read(header: unknown): HeaderVerdict {
    if (typeof header !== "object" || header === null) return {};
    const known = this.#verdicts.get(header);
    if (known !== undefined) return known;
    const parsed = jobRequestSchema.safeParse(header);
    const verdict: HeaderVerdict = parsed.success
      ? { request: parsed.data, signer: this.guard().verify(parsed.data) }
      : {};
    this.#verdicts.set(header, verdict);
    return verdict;
  }

  /** Admits a new connection from `address`, or says why not; @returns its name in logs and limits. */
  admit(address: string): { connection: string } | { problem: string } {
    const { connectionsPerAddress, connections } = this.limits;
    if (!this.#connections.enter(address, connectionsPerAddress, connections))
      return {
        problem:
          this.#connections.of(address) >= connectionsPerAddress
            ? `${address} has ${connectionsPerAddress} connections open already, the most one address may`
            : `this node serves ${connections} connections already, the most it takes`,
      };
    this.#serial++;
    return { connection: `${address}#${this.#serial}` };
  }

  leave(address: string): void {
    this.#connections.leave(address);
  }

  /** Whether a connection may be refused once more, or has been refused too often and is cut. */
  mayRefuse(connection: string): boolean {
    return this.#refusalRate.take(connection);
  }

  /**
   * The largest body that may follow `header`: a large one only after a job request signed by the
   * operator or a supplier, or any job request on nodes without a registry; checked before a byte of
   * the body is read.
   */
  bodyBytes(header: unknown): number {
    const { request, signer } = this.#read(header);
    // Nodes without a registry serve only programs on a client's own inputs (`snippet clear` on a
    // whole book): every job's client is the operator of its data.
    if (request !== undefined && !this.guard().servesRegistry) return this.limits.largeBodyBytes;
    const role = signer !== undefined && "requester" in signer ? signer.requester?.role : undefined;
    return role === "operator" || role === "supplier" ? this.limits.largeBodyBytes : this.limits.bodyBytes;
  }

  /**
   * Lets a job request wait for its turn: checks that it is one, who signed it, and that it is within
   * its signer's rate and waiting jobs. @returns the request, its key on the job board and the release
   * of its place; or why not.
   */
  enqueue(
    header: unknown,
    connection: string,
  ): { request: JobRequest; key: string; release: () => void } | { problem: string; job?: string } {
    const { request, signer } = this.#read(header);
    if (request === undefined) return { problem: `bad request: ${describeError(parseErrorOf(header))}` };
    if (signer === undefined || "problem" in signer)
      return { job: request.job, problem: signer?.problem ?? "" };
    // A node that serves a registry serves registered parties only: every request is signed.
    if (this.guard().servesRegistry && signer.requester === undefined)
      return {
        job: request.job,
        problem: "the request is not signed: this node serves registered parties only",
      };
    const client = signer.requester?.id ?? connection;
    const { jobsPerSecond, pendingJobsPerClient } = this.limits;
    if (!this.#jobRate.take(client))
      return { job: request.job, problem: `${client} asked for more than ${jobsPerSecond} jobs a second` };
    if (!this.#pending.enter(client, pendingJobsPerClient))
      return {
        job: request.job,
        problem: `${client} has ${pendingJobsPerClient} jobs waiting already, the most one client may`,
      };
    let released = false;
    return {
      request,
      key: signer.requester === undefined ? request.job : `${signer.requester.id} ${request.job}`,
      release: () => {
        if (released) return;
        released = true;
        this.#pending.leave(client);
      },
    };
  }
}

/**
 * Reads one client's messages: job requests, which wait on the job board for their turn, and the
 * messages the application takes in (a household's intent, a meter's reading). Each answer goes back
 * on the same connection. A client past its limits is refused or cut off, alone.
 */
export async function serveClient(socket: TLSSocket, node: ClientPortNode): Promise<void> {
  const { jobs, gate, outbox, log } = node;
  const address = socket.remoteAddress ?? "an unknown address";
  const admitted = gate.admit(address);
  if ("problem" in admitted) {
    log({ event: "client-refused", address, reason: admitted.problem });
    new MessageSocket(socket).cut({ type: "error", job: "", message: admitted.problem });
    return;
  }
  const { connection } = admitted;
  const client = new MessageSocket(socket, {
    headerBytes: gate.limits.headerBytes,
    bodyBytes: (header) => gate.bodyBytes(header),
    unreadReplyBytes: gate.limits.unreadReplyBytes,
    onSlowReader: (unreadBytes) =>
      log({ event: "client-cut", connection, reason: `${unreadBytes} reply bytes unread` }),
  });
  const replier = outbox.replier(client);
  jobs.track(client);
  /** Counts a refusal; @returns false when it was one too many and the connection is cut. */
  const refused = (reason: string): boolean => {
    if (gate.mayRefuse(connection)) return true;
    const message = `cut off: more than ${gate.limits.refusalBurst} refused messages (the last: ${reason})`;
    log({ event: "client-cut", connection, reason: message });
    client.cut({ type: "error", job: "", message });
    return false;
  };
  try {
    for await (const { header, body } of client.messages()) {
      const handler = messageType(header) === "job" ? undefined : node.intake()[messageType(header)];
      if (handler !== undefined) {
        const refusal = outbox.intake(() => handler(replier, header as Record<string, unknown>, body));
        if (refusal !== undefined && !refused(refusal)) return;
        continue;
      }
      const closed = node.closedForJobs();
      const place = closed === undefined ? gate.enqueue(header, connection) : { problem: closed };
      if ("problem" in place) {
        client.send({
          type: "error",
          job: ("job" in place ? place.job : undefined) ?? "",
          message: place.problem,
        });
        if (!refused(place.problem)) return;
        continue;
      }
      jobs.submit({
        key: place.key,
        request: place.request,
        client,
        body,
        arrivedMs: performance.now(),
        release: place.release,
      });
    }
  } catch (error) {
    // A stream that breaks the framing (or a limit on it) cannot be trusted further: the client is
    // told why, the connection cut, and only this client is affected.
    const message = describeError(error);
    log({ event: "client-cut", connection, reason: message });
    client.cut({ type: "error", job: "", message: `cut off: ${message}` });
  } finally {
    jobs.untrack(client);
    gate.leave(address);
  }
}

/** The validation error of a header that is not a job request. */
function parseErrorOf(header: unknown): unknown {
  try {
    parseWith(jobRequestSchema, header);
    return new Error("not a job request");
  } catch (error) {
    return error;
  }
}

/** A client message's `type`, or "" when it has none. */
function messageType(header: unknown): string {
  return typeof header === "object" && header !== null && "type" in header && typeof header.type === "string"
    ? header.type
    : "";
}

export function listenForClients(
  host: string,
  port: number,
  key: string,
  cert: string,
  handshakeTimeoutMs: number,
  onClient: (socket: TLSSocket) => void,
): Promise<Server> {
  const server = createServer(
    { key, cert, minVersion: "TLSv1.3", ciphers: TLS_CIPHER_SUITES, handshakeTimeout: handshakeTimeoutMs },
    (socket) => {
      socket.setNoDelay(true);
      void onClient(socket);
    },
  );
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
