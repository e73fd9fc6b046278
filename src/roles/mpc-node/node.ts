/**
 * A computing node as a service: it joins the other two over mutual TLS, takes job requests and
 * other messages from clients on its own port, and runs each job in step with the others, node 0
 * setting the order. What it computes comes from its application: a table of programs, handlers of
 * the messages clients send outside jobs, and each job's context.
 * @module
 */
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { Shared } from "../../mpc/arithmetic.ts";
import { decodeShares, encodeShares } from "../../mpc/encoding.ts";
import { Party } from "../../mpc/party.ts";
import { type Program, type ProgramTable, resolveProgram } from "../../mpc/programs.ts";
import { describeNode } from "../../mpc/transport/peers.ts";
import { connectTls, TLS_CIPHER_SUITES } from "../../mpc/transport/tls.ts";
import { PARTIES, type PartyId, PeerError, type Transport } from "../../mpc/transport/types.ts";
import type { IntakeHandler, JobContext } from "../../private/context.ts";
import type { RegisteredParty } from "../../private/registry.ts";
import { describeError, parseWith } from "../../validation/index.ts";
import type { NodeConfig } from "./config.ts";
import { type JobRequest, jobRequestSchema, MessageSocket } from "./jobs.ts";
import { type ClientLimits, Counter, DEFAULT_CLIENT_LIMITS, RateLimiter } from "./limits.ts";
import { RequestGuard } from "./signed-request.ts";

/** What a node serves: its programs, the handlers of other client messages, and each job's context. */
export interface NodeApplication {
  readonly programs: ProgramTable<JobContext>;
  /** Handlers of client messages that are not job requests (a household's order, a meter's reading), by `type`. */
  readonly intake: Readonly<Record<string, IntakeHandler>>;
  /** What a job is told besides its inputs, given who signed it. */
  context(job: string, requester: RegisteredParty | undefined): JobContext;
}

/** How a node is started. */
export interface NodeOptions {
  config: NodeConfig;
  party: PartyId;
  privateKeyPem: string;
  /** What it computes. */
  application: NodeApplication;
  /** The time signed requests are checked against (default: the system clock). */
  clock?: () => number;
  /** Added latency per frame between nodes, to show what rounds cost on a real network. */
  delayMs?: number;
  /** What one client may cost this node (default {@link DEFAULT_CLIENT_LIMITS}). */
  limits?: ClientLimits;
  /** Structured log sink (one event per call). */
  log: (event: Record<string, unknown>) => void;
}

/** A started node. */
export interface RunningNode {
  /** Where clients connect. */
  readonly clientPort: number;
  /** Settles when the node stops: resolves after `close()`, rejects when a peer fails. */
  readonly stopped: Promise<void>;
  close(): Promise<void>;
}

/** A request as one node received it, under its key on the job board. */
interface Submission {
  /** The signer's own job id (`party job`), or the bare id of an unsigned request. */
  key: string;
  request: JobRequest;
  client: MessageSocket;
  body: Uint8Array;
  /** When it arrived (performance.now()). */
  arrivedMs: number;
  /** Called once when the request leaves the board. */
  release(): void;
}

/** A request checked when its turn comes: the program, its decoded input shares and context; or why it cannot run. */
type Ready =
  | { program: Program<unknown, JobContext>; params: unknown; inputs: Shared; context: JobContext }
  | { problem: string };

/** Control frames node 0 sends between jobs: the next job, or a heartbeat that shows it is alive. */
type Control = { job: string } | { heartbeat: true };

/**
 * Each node's answer to "do you have job X and can you run it?"; for a program on what the nodes
 * hold, with the keys of what it holds.
 */
type Readiness = { ok: true; held?: string[] } | { ok: false; problem: string };

/** How many network timeouts a follower keeps a request node 0 has not announced (node 0 may be busy with others). */
const FOLLOWER_WAIT_TIMEOUTS = 6;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Starts a node: connects to the peers, agrees PRSS keys, listens for clients. */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { config, party: id, log } = options;
  const transport = await connectTls(config, id, options.privateKeyPem, {
    timeoutMs: config.timeoutMs,
    ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
  });
  const party = await Party.connect(transport);
  const jobs = new JobBoard(id === 0);
  const { application } = options;
  const clock = options.clock ?? Date.now;
  const guard = new RequestGuard(config.registry, clock);
  const own = config.nodes[id];
  const gate = new ClientGate(options.limits ?? DEFAULT_CLIENT_LIMITS, guard, clock);
  const server = await listenForClients(
    own.host,
    own.clientPort,
    options.privateKeyPem,
    own.certificatePem,
    config.timeoutMs,
    (socket) => serveClient(socket, jobs, gate, application.intake, log),
  );
  log({ event: "ready", party: id, node: own.name, clientPort: own.clientPort });
  let closing = false;
  const stopped = (id === 0 ? leadJobs : followJobs)({
    party,
    jobs,
    application,
    guard,
    config,
    log,
    closing: () => closing,
  }).finally(async () => {
    server.close();
    jobs.closeAll();
    await transport.close();
  });
  return {
    clientPort: own.clientPort,
    stopped,
    async close() {
      closing = true;
      jobs.wake();
      await stopped.catch(() => undefined);
    },
  };
}

/** What a node's job loop works with. */
interface JobLoop {
  party: Party;
  jobs: JobBoard;
  application: NodeApplication;
  guard: RequestGuard;
  config: NodeConfig;
  log: NodeOptions["log"];
  closing: () => boolean;
}

/** Node 0: announces each job in the order requests reached it, and a heartbeat while idle. */
async function leadJobs(loop: JobLoop): Promise<void> {
  const { party, jobs, config, closing } = loop;
  const heartbeatMs = Math.max(50, Math.floor(config.timeoutMs / 3));
  while (!closing()) {
    const next = await jobs.nextArrival(heartbeatMs);
    if (next === undefined) {
      sendControl(party.transport, { heartbeat: true });
      continue;
    }
    sendControl(party.transport, { job: next });
    await runAgreedJob(loop, next);
  }
}

/** Nodes 1 and 2: run what node 0 announces, waiting for their own copy of the request. */
async function followJobs(loop: JobLoop): Promise<void> {
  const { party, jobs, config, closing } = loop;
  while (!closing()) {
    // Node 0 announces every request it holds, in turn; one it never announces did not reach it.
    // Node 0's heartbeats wake this loop at least every third of the timeout.
    jobs.expire(FOLLOWER_WAIT_TIMEOUTS * config.timeoutMs);
    const frame = await party.transport.receive(0).catch((error: unknown) => {
      if (closing()) return undefined;
      throw error;
    });
    if (frame === undefined) return;
    const control = parseControl(frame);
    if ("job" in control) await runAgreedJob(loop, control.job);
  }
}

/** Agrees with the others that all three hold a runnable request for the job, then runs it. */
async function runAgreedJob(
  { party, jobs, application, guard, config, log }: JobLoop,
  key: string,
): Promise<void> {
  const submission = await jobs.waitFor(key, config.timeoutMs / 2);
  const jobId = submission?.request.job ?? key;
  const ready: Ready | undefined =
    submission === undefined ? undefined : prepare(submission.request, submission.body, application, guard);
  const readiness: Readiness =
    ready === undefined
      ? { ok: false, problem: "no request for this job reached it" }
      : "problem" in ready
        ? { ok: false, problem: ready.problem }
        : ready.program.held === undefined
          ? { ok: true }
          : { ok: true, held: ready.program.held(ready.params, ready.context) };
  const peers = PARTIES.filter((p) => p !== party.id);
  for (const peer of peers) party.transport.send(peer, encoder.encode(JSON.stringify(readiness)));
  const answers = await Promise.all(
    peers.map(async (peer) => parseReadiness(peer, await party.transport.receive(peer))),
  ).catch((error: unknown) => {
    // A peer gone before the job starts: tell the client who, then stop this node.
    submission?.client.send({ type: "error", job: jobId, message: describeError(error) });
    throw error;
  });
  // One line per distinct problem, naming the nodes that reported it.
  const byProblem = new Map<string, string[]>();
  [readiness, ...answers].forEach((answer, k) => {
    if (answer.ok) return;
    const node = describeNode(config, k === 0 ? party.id : (peers[k - 1] as PartyId));
    byProblem.set(answer.problem, [...(byProblem.get(answer.problem) ?? []), node]);
  });
  const refusals = [...byProblem].map(([problem, nodes]) => `${problem} (${nodes.sort().join(", ")})`);
  if (submission === undefined || ready === undefined) return;
  jobs.forget(submission);
  if (refusals.length > 0 || "problem" in ready) {
    submission.client.send({ type: "error", job: jobId, message: refusals.join("; ") });
    log({
      event: "job-refused",
      job: jobId,
      program: submission.request.program,
      client: submission.request.auth?.party ?? "unsigned",
      reasons: refusals,
    });
    return;
  }
  const before = { ...party.counters };
  const started = performance.now();
  const stats = () => ({
    rounds: party.counters.rounds - before.rounds,
    bytesSent: party.counters.bytesSent - before.bytesSent,
    protocolMs: performance.now() - started,
  });
  const agreed = agreedKeys([readiness, ...answers].map((answer) => (answer.ok ? (answer.held ?? []) : [])));
  try {
    const { program, params, inputs, context } = ready;
    const result = await program.run(party, params, inputs, context, agreed);
    submission.client.send(
      { type: "result", job: jobId, public: result.public ?? null, stats: stats() },
      encodeShares(result.outputs),
    );
    log({
      event: "job",
      job: jobId,
      program: submission.request.program,
      client: submission.request.auth?.party ?? "unsigned",
      ...stats(),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    submission.client.send({ type: "error", job: jobId, message });
    // A peer that failed mid-protocol leaves the three out of step: this node stops, naming it.
    if (error instanceof PeerError) throw error;
    log({ event: "job-failed", job: jobId, message });
  }
}

/**
 * What the client port lets one client cost: connections per address, message sizes (a body's
 * limit decided from its header, by who signed it), waiting jobs and job rate per party, and refused
 * messages per connection.
 */
class ClientGate {
  readonly #connections = new Counter();
  readonly #pending = new Counter();
  readonly #jobRate: RateLimiter;
  readonly #refusalRate: RateLimiter;
  #serial = 0;

  constructor(
    readonly limits: ClientLimits,
    readonly guard: RequestGuard,
    clock: () => number,
  ) {
    this.#jobRate = new RateLimiter(limits.jobsPerSecond, limits.jobBurst, clock);
    this.#refusalRate = new RateLimiter(limits.refusalsPerSecond, limits.refusalBurst, clock);
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
   * operator or a supplier, checked before a byte of the body is read.
   */
  bodyBytes(header: unknown): number {
    const request = jobRequestSchema.safeParse(header);
    if (!request.success || request.data.auth === undefined) return this.limits.bodyBytes;
    const signer = this.guard.verify(request.data);
    const role = "requester" in signer ? signer.requester?.role : undefined;
    return role === "operator" || role === "supplier" ? this.limits.largeBodyBytes : this.limits.bodyBytes;
  }

  /**
   * Lets a job request wait for its turn: checks who signed it, and that it is within its signer's
   * rate and waiting jobs. @returns its key on the job board and the release of its place, or why not.
   */
  enqueue(
    request: JobRequest,
    connection: string,
  ): { key: string; release: () => void } | { problem: string } {
    const signer = this.guard.verify(request);
    if ("problem" in signer) return signer;
    // A node that serves a registry serves registered parties only: every request is signed.
    if (this.guard.servesRegistry && signer.requester === undefined)
      return { problem: "the request is not signed: this node serves registered parties only" };
    const client = signer.requester?.id ?? connection;
    const { jobsPerSecond, pendingJobsPerClient } = this.limits;
    if (!this.#jobRate.take(client))
      return { problem: `${client} asked for more than ${jobsPerSecond} jobs a second` };
    if (!this.#pending.enter(client, pendingJobsPerClient))
      return {
        problem: `${client} has ${pendingJobsPerClient} jobs waiting already, the most one client may`,
      };
    let released = false;
    return {
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
async function serveClient(
  socket: TLSSocket,
  jobs: JobBoard,
  gate: ClientGate,
  intake: NodeApplication["intake"],
  log: NodeOptions["log"],
): Promise<void> {
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
      const handler = messageType(header) === "job" ? undefined : intake[messageType(header)];
      if (handler !== undefined) {
        const refusal = handler(client, header as Record<string, unknown>, body);
        if (refusal !== undefined && !refused(refusal)) return;
        continue;
      }
      const parsed = jobRequestSchema.safeParse(header);
      const request = parsed.success ? parsed.data : undefined;
      const place =
        request === undefined
          ? { problem: `bad request: ${describeError(parseErrorOf(header))}` }
          : gate.enqueue(request, connection);
      if ("problem" in place) {
        client.send({ type: "error", job: request?.job ?? "", message: place.problem });
        if (!refused(place.problem)) return;
        continue;
      }
      jobs.submit({
        key: place.key,
        request: request as JobRequest,
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

/**
 * Checks a request when its turn comes: who signed it, then the program, its parameters, its input
 * shares and whether this node runs it for this requester now; or says what is wrong.
 */
function prepare(
  request: JobRequest,
  body: Uint8Array,
  application: NodeApplication,
  guard: RequestGuard,
): Ready {
  try {
    // Checked on arrival too; now its job id is taken, so that it runs once.
    const signer = guard.check(request);
    if ("problem" in signer) return signer;
    const { program, params, inputWords } = resolveProgram(
      application.programs,
      request.program,
      request.params,
    );
    const inputs = decodeShares(body, inputWords, "the input body");
    const context = application.context(request.job, signer.requester);
    // A program without a rule of its own computes on the client's inputs: the operator's only, where
    // parties are registered, so that no one else can load the nodes with work.
    const problem =
      program.refuse === undefined
        ? guard.servesRegistry && signer.requester?.role !== "operator"
          ? `only the operator runs ${request.program} on this node`
          : undefined
        : program.refuse(params, context);
    return problem === undefined ? { program, params, inputs, context } : { problem };
  } catch (error) {
    return { problem: describeError(error) };
  }
}

function sendControl(transport: Transport, control: Control): void {
  transport.send(1, encoder.encode(JSON.stringify(control)));
  transport.send(2, encoder.encode(JSON.stringify(control)));
}

function parseControl(frame: Uint8Array): Control {
  const value = parseJsonFrame(0, frame, "control");
  if (typeof value === "object" && value !== null) {
    if ("heartbeat" in value) return { heartbeat: true };
    if ("job" in value && typeof value.job === "string") return { job: value.job };
  }
  throw new PeerError(0, "node 0 sent a malformed control frame");
}

function parseReadiness(peer: PartyId, frame: Uint8Array): Readiness {
  const value = parseJsonFrame(peer, frame, "readiness");
  if (typeof value === "object" && value !== null && "ok" in value) {
    if (value.ok === true) {
      if (!("held" in value)) return { ok: true };
      const { held } = value;
      if (Array.isArray(held) && held.every((key) => typeof key === "string")) return { ok: true, held };
    }
    if ("problem" in value && typeof value.problem === "string") return { ok: false, problem: value.problem };
  }
  throw new PeerError(peer, `node ${peer} sent a malformed readiness frame`);
}

function parseJsonFrame(peer: PartyId, frame: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(frame));
  } catch {
    throw new PeerError(peer, `node ${peer} sent a malformed ${what} frame`);
  }
}

function listenForClients(
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

/**
 * The requests that reached this node, by job id, in arrival order; and the waits for them. A
 * request that arrives while its job's id is already pending is refused at once.
 */
class JobBoard {
  readonly #pending = new Map<string, Submission>();
  readonly #arrivals: string[] = [];
  readonly #clients = new Set<MessageSocket>();
  #wake: (() => void) | undefined;

  /** Only node 0 sets the order of jobs, so only it keeps the order in which requests arrived. */
  constructor(private readonly keepsArrivalOrder: boolean) {}

  submit(submission: Submission): void {
    const { key } = submission;
    if (this.#pending.has(key)) {
      const { job } = submission.request;
      submission.client.send({ type: "error", job, message: `job ${job} is already pending` });
      submission.release();
      return;
    }
    this.#pending.set(key, submission);
    if (this.keepsArrivalOrder) this.#arrivals.push(key);
    this.wake();
  }

  /**
   * Drops the requests that waited longer than `maxWaitMs` for their turn (the other nodes never
   * announced them: they did not reach node 0, or a client sent them to this node only), telling
   * their clients.
   */
  expire(maxWaitMs: number): void {
    const now = performance.now();
    for (const submission of this.#pending.values()) {
      if (now - submission.arrivedMs <= maxWaitMs) continue;
      const { job } = submission.request;
      submission.client.send({
        type: "error",
        job,
        message: `job ${job} did not start within ${maxWaitMs} ms: did the request reach all three nodes?`,
      });
      this.forget(submission);
    }
  }

  /** The next job id in arrival order, or undefined after `waitMs` without one. */
  async nextArrival(waitMs: number): Promise<string | undefined> {
    while (this.#arrivals.length > 0) {
      const job = this.#arrivals.shift() as string;
      if (this.#pending.has(job)) return job;
    }
    await this.#sleep(waitMs);
    return this.#arrivals.shift();
  }

  /** The request for a job, waiting up to `waitMs` for it to arrive. */
  async waitFor(job: string, waitMs: number): Promise<Submission | undefined> {
    const deadline = performance.now() + waitMs;
    while (!this.#pending.has(job) && performance.now() < deadline) {
      await this.#sleep(deadline - performance.now());
    }
    return this.#pending.get(job);
  }

  forget(submission: Submission): void {
    if (this.#pending.get(submission.key) === submission) this.#pending.delete(submission.key);
    submission.release();
  }

  wake(): void {
    this.#wake?.();
  }

  track(client: MessageSocket): void {
    this.#clients.add(client);
  }

  untrack(client: MessageSocket): void {
    this.#clients.delete(client);
  }

  closeAll(): void {
    for (const client of this.#clients) client.close();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}

/** The keys every node holds. */
export function agreedKeys(lists: readonly (readonly string[])[]): Set<string> {
  const [first = [], ...others] = lists;
  const sets = others.map((list) => new Set(list));
  return new Set(first.filter((key) => sets.every((set) => set.has(key))));
}
