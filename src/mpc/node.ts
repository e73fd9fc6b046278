/**
 * A computing node as a service: it joins the other two over mutual TLS, takes job requests from
 * clients on its own port, and runs each job in step with the others, node 0 setting the order.
 * @module
 */
import { createServer, type Server, type TLSSocket } from "node:tls";
import { z } from "zod";
import { idField, parseWith, slotTimeField, ValidationError } from "../validation/index.ts";
import type { Shared } from "./arithmetic.ts";
import { KeptBills } from "./billing/kept.ts";
import {
  agreedKeys,
  CLOSE_PROGRAM,
  type CloseParams,
  closeParamsSchema,
  ORDER_WORDS,
  OrderIntake,
  type OrderMessage,
  orderMessageSchema,
  prepareClosing,
} from "./clearing/intake.ts";
import { type ClearPublic, clearProgram } from "./clearing/program.ts";
import {
  decodeShares,
  encodeShares,
  type JobRequest,
  type JobStats,
  jobRequestSchema,
  MessageSocket,
  readingJob,
} from "./jobs.ts";
import { METER_CLOSE_PROGRAM, MeterIntake } from "./metering/intake.ts";
import { describeNode, type NodeConfig } from "./node-config.ts";
import { Party } from "./party.ts";
import { type JobContext, type Program, resolveProgram } from "./programs.ts";
import type { Registry } from "./registry.ts";
import { RequestGuard } from "./signed-request.ts";
import { connectTls, TLS_CIPHER_SUITES } from "./transport/tls.ts";
import { PARTIES, type PartyId, PeerError, type Transport } from "./transport/types.ts";

/** How a node is started. */
export interface NodeOptions {
  config: NodeConfig;
  party: PartyId;
  privateKeyPem: string;
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

/**
 * A request checked when its turn comes: the program, its decoded input shares and who asked; for a
 * broker closing a slot, its terms (the inputs are the orders households sent); for the operator
 * closing a slot's metering, the slot (the inputs are the meters' readings); or why it cannot run.
 */
type Ready =
  | { program: Program<unknown>; params: unknown; inputs: Shared; context: JobContext }
  | { close: CloseParams }
  | { closeMeters: string }
  | { problem: string };

const meterCloseParamsSchema = z.strictObject({ slot: slotTimeField });

/** What a node keeps between jobs, beyond the orders of open slots. */
interface NodeKeep {
  readonly guard: RequestGuard;
  readonly registry?: Registry;
  readonly meters?: MeterIntake;
  readonly bills?: KeptBills;
}

/** Control frames node 0 sends between jobs: the next job, or a heartbeat that shows it is alive. */
type Control = { job: string } | { heartbeat: true };

/**
 * Each node's answer to "do you have job X and can you run it?"; closing a slot, with the orders (or
 * meter readings) it holds.
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
  const intake = new OrderIntake<MessageSocket>();
  const { registry } = config;
  const keep: NodeKeep = {
    guard: new RequestGuard(registry, options.clock ?? Date.now),
    ...(registry === undefined
      ? {}
      : { registry, meters: new MeterIntake(id, registry), bills: new KeptBills() }),
  };
  const own = config.nodes[id];
  const server = await listenForClients(
    own.host,
    own.clientPort,
    options.privateKeyPem,
    own.certificatePem,
    (socket) => serveClient(socket, jobs, intake, keep, log),
  );
  log({ event: "ready", party: id, node: own.name, clientPort: own.clientPort });
  let closing = false;
  const stopped = (id === 0 ? leadJobs : followJobs)({
    party,
    jobs,
    intake,
    keep,
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
  intake: OrderIntake<MessageSocket>;
  keep: NodeKeep;
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
  { party, jobs, intake, keep, config, log }: JobLoop,
  jobId: string,
): Promise<void> {
  const submission = await jobs.waitFor(jobId, config.timeoutMs / 2);
  const ready: Ready | undefined =
    submission === undefined ? undefined : prepare(submission.request, submission.body, keep);
  const readiness: Readiness =
    ready === undefined
      ? { ok: false, problem: "no request for this job reached it" }
      : "problem" in ready
        ? { ok: false, problem: ready.problem }
        : "close" in ready
          ? { ok: true, held: intake.keys(jobId) }
          : "closeMeters" in ready
            ? { ok: true, held: keep.meters?.held(ready.closeMeters) ?? [] }
            : { ok: true };
  const peers = PARTIES.filter((p) => p !== party.id);
  for (const peer of peers) party.transport.send(peer, encoder.encode(JSON.stringify(readiness)));
  const answers = await Promise.all(
    peers.map(async (peer) => parseReadiness(peer, await party.transport.receive(peer))),
  ).catch((error: unknown) => {
    // A peer gone before the job starts: tell the client who, then stop this node.
    submission?.client.send({ type: "error", job: jobId, message: describe(error) });
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
    return;
  }
  const before = { ...party.counters };
  const started = performance.now();
  const stats = () => ({
    rounds: party.counters.rounds - before.rounds,
    bytesSent: party.counters.bytesSent - before.bytesSent,
    protocolMs: performance.now() - started,
  });
  const held = () =>
    agreedKeys([readiness, ...answers].map((answer) => (answer.ok ? (answer.held ?? []) : [])));
  try {
    if ("close" in ready) {
      await clearHeldOrders(party, jobId, submission, ready.close, intake.take(jobId), held(), stats);
    } else if ("closeMeters" in ready) {
      const closed = (keep.meters as MeterIntake).close(ready.closeMeters, held());
      submission.client.send({ type: "result", job: jobId, public: closed, stats: stats() });
    } else {
      const { program, params, inputs, context } = ready;
      const result = await program.run(party, params, inputs, context);
      submission.client.send(
        { type: "result", job: jobId, public: result.public ?? null, stats: stats() },
        encodeShares(result.outputs),
      );
    }
    log({ event: "job", job: jobId, program: submission.request.program, ...stats() });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    submission.client.send({ type: "error", job: jobId, message });
    // A peer that failed mid-protocol leaves the three out of step: this node stops, naming it.
    if (error instanceof PeerError) throw error;
    log({ event: "job-failed", job: jobId, message });
  }
}

/**
 * Closes a slot: clears the orders all three nodes hold with the same terms, sends each household
 * its own fill and cap flag as shares with the public figures, and the broker the public figures
 * and the orders left out with their reasons.
 */
async function clearHeldOrders(
  party: Party,
  jobId: string,
  broker: Submission,
  close: CloseParams,
  held: ReturnType<OrderIntake<MessageSocket>["take"]>,
  agreed: ReadonlySet<string>,
  stats: () => JobStats,
): Promise<void> {
  const slot = prepareClosing(held, agreed, close);
  const result = await clearProgram
    .run(party, clearProgram.params.parse(slot.params), slot.inputs)
    .catch((error: unknown) => {
      // The households wait on their own connections: each hears that the slot failed, not silence.
      const message = `slot ${jobId} could not be cleared: ${describe(error)}`;
      for (const order of held.values())
        order.household.send({ type: "error", job: jobId, order: order.terms.id, message });
      throw error;
    });
  const published = result.public as ClearPublic;
  const outputs = result.outputs as Shared;
  const figures = slot.closePublic(published);
  const { leftOut: _, ...slotFigures } = figures;
  const refused = new Set(published.refused);
  const count = slot.placed.length;
  slot.placed.forEach((order, k) => {
    // Its fill, then whether its connection cap bound: the outputs at k and count + k.
    const words = (component: BigUint64Array) =>
      BigUint64Array.of(component[k] as bigint, component[count + k] as bigint);
    order.household.send(
      {
        type: "fill",
        job: jobId,
        order: order.terms.id,
        public: { ...slotFigures, refused: refused.has(k) },
      },
      encodeShares({ own: words(outputs.own), next: words(outputs.next) }),
    );
  });
  for (const { id, reason } of slot.leftOut) {
    held.get(id)?.household.send({
      type: "error",
      job: jobId,
      order: id,
      message: `order ${id} was left out: ${reason}`,
    });
  }
  broker.client.send({ type: "result", job: jobId, public: figures, stats: stats() }, new Uint8Array(0));
}

/**
 * Reads one client's messages: job requests, and households' orders for a slot, which the intake
 * holds until a broker closes the slot. Each answer goes back on the same connection.
 */
async function serveClient(
  socket: TLSSocket,
  jobs: JobBoard,
  intake: OrderIntake<MessageSocket>,
  keep: NodeKeep,
  log: NodeOptions["log"],
): Promise<void> {
  const client = new MessageSocket(socket);
  jobs.track(client);
  try {
    for await (const { header, body } of client.messages()) {
      if (isMessageOf("order", header)) {
        holdOrder(intake, client, header, body);
        continue;
      }
      if (isMessageOf("reading", header)) {
        takeReading(keep, client, header);
        continue;
      }
      let request: JobRequest;
      try {
        request = parseWith(jobRequestSchema, header);
      } catch (error) {
        client.send({ type: "error", job: "", message: `bad request: ${describe(error)}` });
        continue;
      }
      jobs.submit({ request, client, body });
    }
  } catch (error) {
    // A stream that breaks the framing cannot be trusted further: the connection is dropped (leaving
    // the loop destroys the socket), logged, and only this client is affected.
    log({ event: "client-error", message: describe(error) });
  } finally {
    jobs.untrack(client);
  }
}

function isMessageOf(type: string, header: unknown): header is { type: string } & Record<string, unknown> {
  return typeof header === "object" && header !== null && "type" in header && header.type === type;
}

/**
 * Takes a meter's reading into the intake and answers the meter: held, or refused with the reason.
 * A message that does not even name a meter and a slot answers as an unreadable request.
 */
function takeReading(keep: NodeKeep, meter: MessageSocket, header: Record<string, unknown>): void {
  const envelope = header.envelope;
  const named =
    typeof envelope === "object" && envelope !== null && "meter" in envelope && "slot" in envelope
      ? { meter: String(envelope.meter), slot: String(envelope.slot) }
      : undefined;
  if (named === undefined || idField.safeParse(named.meter).success === false) {
    meter.send({ type: "error", job: "", message: "bad reading: it names no meter and slot" });
    return;
  }
  const refused =
    keep.meters === undefined ? "this node keeps no meter registry" : keep.meters.accept(envelope);
  meter.send({ type: "reading", job: readingJob(named.slot), meter: named.meter, refused });
}

/** Holds a household's order for its slot, or tells the household why not. */
function holdOrder(
  intake: OrderIntake<MessageSocket>,
  household: MessageSocket,
  header: unknown,
  body: Uint8Array,
): void {
  let message: OrderMessage;
  let shares: Shared;
  try {
    message = parseWith(orderMessageSchema, header);
    shares = decodeShares(body, ORDER_WORDS, "the order's shares");
  } catch (error) {
    const job = typeof header === "object" && header !== null && "job" in header ? String(header.job) : "";
    household.send({ type: "error", job, message: `bad order: ${describe(error)}` });
    return;
  }
  const { id, side, zone, connectionCapWh } = message.order;
  const terms = {
    id,
    side,
    ...(zone === undefined ? {} : { zone }),
    ...(connectionCapWh === undefined ? {} : { connectionCapWh }),
  };
  const { problem, dropped } = intake.add(message.job, { terms, shares, household });
  for (const order of dropped ?? []) {
    order.household.send({
      type: "error",
      job: message.job,
      order: order.terms.id,
      message: `order ${order.terms.id} was dropped: too many slots open at once`,
    });
  }
  household.send(
    problem === undefined
      ? { type: "held", job: message.job, order: id }
      : { type: "error", job: message.job, order: id, message: problem },
  );
}

/**
 * Checks a request when its turn comes: who signed it, then the program, its parameters, its input
 * shares and whether this node runs it for this requester now; or says what is wrong.
 */
function prepare(request: JobRequest, body: Uint8Array, keep: NodeKeep): Ready {
  try {
    const signer = keep.guard.check(request);
    if ("problem" in signer) return signer;
    if (request.program === CLOSE_PROGRAM) {
      if (body.length > 0) throw new RangeError("closing a slot takes no input shares");
      return { close: parseWith(closeParamsSchema, request.params) };
    }
    if (request.program === METER_CLOSE_PROGRAM) {
      const { slot } = parseWith(z.object({ params: meterCloseParamsSchema }), request).params;
      if (keep.meters === undefined) return { problem: "this node keeps no meter registry" };
      if (signer.requester?.role !== "operator")
        return { problem: "only the operator closes a slot's metering" };
      return { closeMeters: slot };
    }
    const { program, params, inputWords } = resolveProgram(request.program, request.params);
    const inputs = decodeShares(body, inputWords, "the input body");
    const context: JobContext = {
      job: request.job,
      ...(signer.requester === undefined ? {} : { requester: signer.requester }),
      ...(keep.registry === undefined ? {} : { registry: keep.registry }),
      ...(keep.meters === undefined ? {} : { meters: keep.meters }),
      ...(keep.bills === undefined ? {} : { bills: keep.bills }),
    };
    const problem = program.refuse?.(params, context);
    return problem === undefined ? { program, params, inputs, context } : { problem };
  } catch (error) {
    return { problem: describe(error) };
  }
}

function describe(error: unknown): string {
  if (error instanceof ValidationError) return error.message.replaceAll("\n", "; ");
  return error instanceof Error ? error.message : String(error);
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
