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

/** A request as one node received it. */
interface Submission {
  request: JobRequest;
  client: MessageSocket;
  body: Uint8Array;
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
  const guard = new RequestGuard(config.registry, options.clock ?? Date.now);
  const own = config.nodes[id];
  const server = await listenForClients(
    own.host,
    own.clientPort,
    options.privateKeyPem,
    own.certificatePem,
    (socket) => serveClient(socket, jobs, application.intake, log),
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
  const { party, closing } = loop;
  while (!closing()) {
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
  jobId: string,
): Promise<void> {
  const submission = await jobs.waitFor(jobId, config.timeoutMs / 2);
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
  jobs.forget(jobId);
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
 * Reads one client's messages: job requests, and households' orders for a slot, which the intake
 * holds until a broker closes the slot. Each answer goes back on the same connection.
 */
async function serveClient(
  socket: TLSSocket,
  jobs: JobBoard,
  intake: NodeApplication["intake"],
  log: NodeOptions["log"],
): Promise<void> {
  const client = new MessageSocket(socket);
  jobs.track(client);
  try {
    for await (const { header, body } of client.messages()) {
      const handler = messageType(header) === "job" ? undefined : intake[messageType(header)];
      if (handler !== undefined) {
        handler(client, header as Record<string, unknown>, body);
        continue;
      }
      let request: JobRequest;
      try {
        request = parseWith(jobRequestSchema, header);
      } catch (error) {
        client.send({ type: "error", job: "", message: `bad request: ${describeError(error)}` });
        continue;
      }
      jobs.submit({ request, client, body });
    }
  } catch (error) {
    // A stream that breaks the framing cannot be trusted further: the connection is dropped (leaving
    // the loop destroys the socket), logged, and only this client is affected.
    log({ event: "client-error", message: describeError(error) });
  } finally {
    jobs.untrack(client);
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
    const signer = guard.check(request);
    if ("problem" in signer) return signer;
    // A node that serves a registry serves registered parties only: every request is signed.
    if (guard.servesRegistry && signer.requester === undefined)
      return { problem: "the request is not signed: this node serves registered parties only" };
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
  onClient: (socket: TLSSocket) => void,
): Promise<Server> {
  const server = createServer({ key, cert, minVersion: "TLSv1.3", ciphers: TLS_CIPHER_SUITES }, (socket) => {
    socket.setNoDelay(true);
    onClient(socket);
  });
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
    const { job } = submission.request;
    if (this.#pending.has(job)) {
      submission.client.send({ type: "error", job, message: `job ${job} is already pending` });
      return;
    }
    this.#pending.set(job, submission);
    if (this.keepsArrivalOrder) this.#arrivals.push(job);
    this.wake();
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

  forget(job: string): void {
    this.#pending.delete(job);
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
