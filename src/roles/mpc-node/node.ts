/**
 * A computing node as a service: it joins the other two over mutual TLS, takes job requests and
 * other messages from clients on its own port, and runs each job in step with the others, node 0
 * setting the order and deciding, once all three have written a job's changes, that it commits.
 * When a peer is lost it says so on its health endpoint, rebuilds its state from its store and
 * joins the mesh again as soon as the peer is back; a restarted node joins from its store.
 * What it computes comes from its application: a table of programs, handlers of the messages
 * clients send outside jobs, and each job's context.
 * @module
 */
import type { Shared } from "../../mpc/arithmetic.ts";
import { decodeShares, encodeShares } from "../../mpc/encoding.ts";
import { Party } from "../../mpc/party.ts";
import { type Program, resolveProgram } from "../../mpc/programs.ts";
import { describeNode } from "../../mpc/transport/peers.ts";
import { connectTls } from "../../mpc/transport/tls.ts";
import { PARTIES, type PartyId, PeerError, type Transport } from "../../mpc/transport/types.ts";
import type { JobContext } from "../../private/context.ts";
import { describeError } from "../../validation/index.ts";
import { ClientGate, listenForClients, Outbox, serveClient } from "./client-port.ts";
import type { NodeConfig } from "./config.ts";
import { type HealthServer, type NodeHealth, serveHealth } from "./health.ts";
import { JobBoard } from "./job-board.ts";
import type { JobRequest } from "./jobs.ts";
import type { NodeJournal } from "./journal.ts";
import { type ClientLimits, DEFAULT_CLIENT_LIMITS } from "./limits.ts";
import type { ApplicationFactory, NodeApplication, NodeLog } from "./node-application.ts";
import { type CompactionPolicy, NodeState } from "./node-state.ts";
import type { RequestGuard } from "./signed-request.ts";

/** How a node is started. */
export interface NodeOptions {
  config: NodeConfig;
  party: PartyId;
  privateKeyPem: string;
  /** What it computes, built on the recorder of its changes (again whenever the node rebuilds its state). */
  application: ApplicationFactory;
  /** Where its state is kept. */
  journal: NodeJournal;
  /** When its journal is compacted (default: when it has doubled, node-state.ts). */
  compaction?: CompactionPolicy;
  /** The time signed requests are checked against (default: the system clock). */
  clock?: () => number;
  /** Added latency per frame between nodes, to show what rounds cost on a real network. */
  delayMs?: number;
  /** What one client may cost this node (default {@link DEFAULT_CLIENT_LIMITS}). */
  limits?: ClientLimits;
  /** Where to serve the health endpoint (port 0: any free port), if anywhere. */
  health?: { host: string; port: number };
  /** Structured log sink (one event per call). */
  log: NodeLog;
}

/** A started node. */
export interface RunningNode {
  /** Where clients connect. */
  readonly clientPort: number;
  /** Where its health endpoint listens, if it serves one. */
  readonly healthPort: number | undefined;
  /** Settles when the node stops: resolves after `close()`, rejects when its store fails. */
  readonly stopped: Promise<void>;
  /** What the health endpoint shows. */
  health(): NodeHealth;
  close(): Promise<void>;
}

/** A request checked when its turn comes: the program, its decoded input shares and context; or why it cannot run. */
type Ready =
  | { program: Program<unknown, JobContext>; params: unknown; inputs: Shared; context: JobContext }
  | { problem: string };

/**
 * Frames node 0 sends nodes 1 and 2 between jobs: the next job, or a heartbeat each answers, so
 * that a peer gone silent is noticed within the timeout even when no job runs.
 */
type Control = { job: string } | { heartbeat: true };

/**
 * Each node's answer to "do you have job X and can you run it?"; for a program on what the nodes
 * hold, with the keys of what it holds.
 */
type Readiness = { ok: true; held?: string[] } | { ok: false; problem: string };

/** How many network timeouts a follower keeps a request node 0 has not announced (node 0 may be busy with others). */
const FOLLOWER_WAIT_TIMEOUTS = 6;
/** The pause between attempts to join the mesh while a peer is missing. */
const REJOIN_PAUSE_MS = 200;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Starts a node: loads its state from its store, listens for clients, and joins the other two
 * (connection, PRSS keys, the decisions on jobs it was in doubt about), again whenever a peer is lost.
 * Resolves once the client port listens; `ready` is logged when the mesh is first up.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { config, party: id, log } = options;
  const clock = options.clock ?? Date.now;
  const state = await NodeState.load(
    options.journal,
    options.application,
    config.registry,
    clock,
    options.compaction,
  );
  const own = config.nodes[id];
  const jobs = new JobBoard(id === 0);
  const gate = new ClientGate(options.limits ?? DEFAULT_CLIENT_LIMITS, () => state.guard, clock);
  let failStore: (error: unknown) => void = () => {};
  const storeFailed = new Promise<never>((_, reject) => {
    failStore = reject;
  });
  storeFailed.catch(() => undefined);
  const outbox = new Outbox(
    () => state.intakeWritten(),
    (error) => failStore(error),
  );
  const health: NodeHealth = {
    party: id,
    node: own.name,
    mesh: "joining",
    since: new Date(clock()).toISOString(),
    peers: PARTIES.filter((peer) => peer !== id).map((peer) => ({
      party: peer,
      node: config.nodes[peer].name,
      up: false,
    })),
    jobs: { run: 0, failed: 0 },
    inDoubt: state.inDoubt.length,
  };
  let closing = false;
  const server = await listenForClients(
    own.host,
    own.clientPort,
    options.privateKeyPem,
    own.certificatePem,
    config.timeoutMs,
    (socket) =>
      serveClient(socket, {
        jobs,
        gate,
        outbox,
        log,
        intake: () => state.application.intake,
        closedForJobs: () =>
          health.mesh === "up"
            ? undefined
            : `${own.name} is rejoining the other nodes (${health.lastLoss?.reason ?? "starting"}): ask again shortly`,
      }),
  );
  let healthServer: HealthServer | undefined;
  try {
    healthServer = options.health === undefined ? undefined : await serveHealth(options.health, () => health);
  } catch (error) {
    server.close();
    throw error;
  }
  const session: MeshSession = {
    options,
    state,
    jobs,
    outbox,
    health,
    closing: () => closing,
    interrupt: () => {},
  };
  const stopped = Promise.race([superviseMesh(session), storeFailed]).finally(async () => {
    server.close();
    await healthServer?.close();
    jobs.closeAll();
    await options.journal.close();
  });
  return {
    clientPort: own.clientPort,
    healthPort: healthServer?.port,
    stopped,
    health: () => health,
    async close() {
      closing = true;
      session.interrupt();
      jobs.wake();
      await stopped.catch(() => undefined);
    },
  };
}

/** What a node keeps across its meshes. */
interface MeshSession {
  readonly options: NodeOptions;
  readonly state: NodeState;
  readonly jobs: JobBoard;
  readonly outbox: Outbox;
  readonly health: NodeHealth;
  closing(): boolean;
  /** Interrupts the current mesh's setup and idle waits (set per mesh). */
  interrupt: () => void;
}

/**
 * Joins the mesh and serves jobs on it until a peer is lost; then rebuilds the state from the store
 * and joins again, until the node is closed.
 */
async function superviseMesh(session: MeshSession): Promise<void> {
  const { options, state, jobs, health, closing } = session;
  const { config, party: id, log } = options;
  const clock = options.clock ?? Date.now;
  let ready = false;
  let attempts = 0;
  while (!closing()) {
    let lost: PeerError | undefined;
    let transport: Transport;
    const interrupted = new Promise<never>((_, reject) => {
      session.interrupt = () => reject(new PeerError(id, "the mesh is interrupted"));
    });
    interrupted.catch(() => undefined);
    const connecting = connectTls(config, id, options.privateKeyPem, {
      timeoutMs: config.timeoutMs,
      ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
      onLinkLost: (error) => {
        lost ??= error;
        session.interrupt();
        jobs.wake();
      },
    });
    try {
      transport = await Promise.race([connecting, interrupted]);
    } catch (error) {
      // A mesh still being joined when the node closes is closed once it is up.
      connecting.then(
        (late) => late.close(),
        () => undefined,
      );
      if (closing()) return;
      attempts++;
      health.waitingFor = {
        ...(error instanceof PeerError ? { peer: error.peer } : {}),
        reason: describeError(error),
      };
      // Said once per loss, then every tenth attempt: a peer down for hours does not flood the log.
      if (attempts === 1 || attempts % 10 === 0)
        log({ event: "mesh-joining", attempt: attempts, reason: describeError(error) });
      await new Promise((resolve) => setTimeout(resolve, REJOIN_PAUSE_MS));
      continue;
    }
    try {
      const party = await Promise.race([Party.connect(transport), interrupted]);
      await Promise.race([resolveInDoubt(party, state, log), interrupted]);
      attempts = 0;
      delete health.waitingFor;
      health.mesh = "up";
      health.since = new Date(clock()).toISOString();
      health.inDoubt = state.inDoubt.length;
      for (const peer of health.peers) peer.up = true;
      if (!ready)
        log({
          event: "ready",
          party: id,
          node: config.nodes[id].name,
          clientPort: config.nodes[id].clientPort,
        });
      else log({ event: "mesh-up", party: id });
      ready = true;
      const loop: JobLoop = { party, session, lost: () => lost, interrupted };
      await (id === 0 ? leadJobs(loop) : followJobs(loop));
    } catch (error) {
      if (closing()) return;
      const cause = lost ?? error;
      const peer = cause instanceof PeerError ? cause.peer : undefined;
      health.mesh = "joining";
      health.since = new Date(clock()).toISOString();
      health.lastLoss = {
        ...(peer === undefined ? {} : { peer }),
        reason: describeError(cause),
        at: health.since,
      };
      for (const entry of health.peers) entry.up = false;
      log({ event: "peer-lost", ...(peer === undefined ? {} : { peer }), reason: describeError(cause) });
      jobs.failAll(`the job did not run: ${describeError(cause)}; the nodes are rejoining`);
      // What a job began and the three did not commit is thrown away: the state is the store's.
      await state.rebuild();
    } finally {
      await transport.close();
    }
  }
}

/**
 * After joining: nodes 1 and 2 tell node 0 the jobs they prepared and heard no decision on, and
 * node 0 answers which it committed; the rest are aborted. Node 0 is never in doubt: it decides.
 */
async function resolveInDoubt(party: Party, state: NodeState, log: NodeOptions["log"]): Promise<void> {
  const { transport } = party;
  if (party.id === 0) {
    for (const peer of [1, 2] as const) {
      const asked = parseJsonFrame(peer, await transport.receive(peer), "in-doubt") as { inDoubt?: unknown };
      const keys = Array.isArray(asked.inDoubt) ? asked.inDoubt.filter((key) => typeof key === "string") : [];
      const committed = keys.filter((key) => state.hasCommitted(key));
      transport.send(peer, encoder.encode(JSON.stringify({ committed })));
    }
    return;
  }
  const inDoubt = state.inDoubt;
  transport.send(0, encoder.encode(JSON.stringify({ inDoubt })));
  const answer = parseJsonFrame(0, await transport.receive(0), "decisions") as { committed?: unknown };
  const committed = new Set(Array.isArray(answer.committed) ? answer.committed : []);
  for (const key of inDoubt) {
    await state.decided(key, committed.has(key), true);
    log({ event: "job-resolved", job: key, committed: committed.has(key) });
  }
}

/** What a node's job loop works with on one mesh. */
interface JobLoop {
  party: Party;
  session: MeshSession;
  /** The link lost on this mesh, if one was. */
  lost(): PeerError | undefined;
  /** Rejects when the node closes or a link is lost. */
  interrupted: Promise<never>;
}

/** Node 0: announces each job in the order requests reached it, and a heartbeat while idle. */
async function leadJobs(loop: JobLoop): Promise<void> {
  const { party, session } = loop;
  const { jobs, closing } = session;
  const { timeoutMs } = session.options.config;
  const heartbeatMs = Math.max(50, Math.floor(timeoutMs / 3));
  while (!closing()) {
    const next = await jobs.nextArrival(heartbeatMs);
    const lost = loop.lost();
    if (lost !== undefined) throw lost;
    if (closing()) return;
    if (next === undefined) {
      sendControl(party.transport, { heartbeat: true });
      await Promise.all([1, 2].map((peer) => party.transport.receive(peer as PartyId)));
      continue;
    }
    sendControl(party.transport, { job: next });
    await runAgreedJob(loop, next);
  }
}

/** Nodes 1 and 2: run what node 0 announces, waiting for their own copy of the request. */
async function followJobs(loop: JobLoop): Promise<void> {
  const { party, session } = loop;
  const { jobs, closing } = session;
  while (!closing()) {
    // Node 0 announces every request it holds, in turn; one it never announces did not reach it.
    // Node 0's heartbeats wake this loop at least every third of the timeout.
    jobs.expire(FOLLOWER_WAIT_TIMEOUTS * session.options.config.timeoutMs);
    const frame = await Promise.race([party.transport.receive(0), loop.interrupted]).catch(
      (error: unknown) => {
        if (closing()) return undefined;
        throw loop.lost() ?? error;
      },
    );
    if (frame === undefined) return;
    const control = parseControl(frame);
    if ("heartbeat" in control) party.transport.send(0, encoder.encode(JSON.stringify({ alive: true })));
    else await runAgreedJob(loop, control.job);
  }
}

/**
 * Agrees with the others that all three hold a runnable request for the job, runs it, and commits
 * it: its changes written by all three before any result or commitment leaves a node.
 */
async function runAgreedJob(loop: JobLoop, key: string): Promise<void> {
  const { party, session } = loop;
  const { jobs, state, outbox, health } = session;
  const { config, log } = session.options;
  state.beginJob();
  const submission = await jobs.waitFor(key, config.timeoutMs / 2);
  const jobId = submission?.request.job ?? key;
  const ready: Ready | undefined =
    submission === undefined
      ? undefined
      : prepare(submission.request, submission.body, state.application, state.guard);
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
    // A peer gone before the job starts: the client hears who.
    if (submission !== undefined) jobs.forget(submission);
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
  outbox.beginJob();
  try {
    const { program, params, inputs, context } = ready;
    const result = await program.run(party, params, inputs, context, agreed);
    await commitJob(party, state, key);
    outbox.commitJob();
    health.jobs.run++;
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
    outbox.abortJob();
    health.jobs.failed++;
    const message = error instanceof Error ? error.message : String(error);
    submission.client.send({ type: "error", job: jobId, message });
    // A peer that failed mid-protocol leaves the three out of step: the mesh is joined again.
    if (error instanceof PeerError) throw error;
    log({ event: "job-failed", job: jobId, message });
    // What the job changed before it failed is thrown away.
    await state.rebuild();
  }
  const grown = state.journal.size();
  const compacted = await state.compactIfDue();
  compacted?.standing.then(
    () => log({ event: "journal-compacted", from: grown, to: state.journal.size() }),
    (error: unknown) => log({ event: "journal-compaction-failed", message: describeError(error) }),
  );
}

/**
 * Commits a job on all three: nodes 1 and 2 write its changes as prepared and say so; node 0, once
 * both have, writes them as committed and tells them, and they write that. A node lost on the way
 * leaves the others in doubt until the mesh is joined again ({@link resolveInDoubt}).
 */
async function commitJob(party: Party, state: NodeState, key: string): Promise<void> {
  const { transport } = party;
  if (party.id === 0) {
    await Promise.all(
      ([1, 2] as const).map(async (peer) => {
        const value = parseJsonFrame(peer, await transport.receive(peer), "prepared");
        if (!(typeof value === "object" && value !== null && "prepared" in value))
          throw new PeerError(peer, `node ${peer} sent a malformed prepared frame`);
      }),
    );
    await state.commitAsLeader(key);
    sendControl(transport, { job: key });
    return;
  }
  const prepared = await state.prepare(key);
  transport.send(0, encoder.encode(JSON.stringify({ prepared: key })));
  const decision = parseControl(await transport.receive(0));
  if (!("job" in decision) || decision.job !== key)
    throw new PeerError(0, `node 0 sent no decision on job ${key}`);
  if (prepared) await state.decided(key, true, false);
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

/** The keys every node holds. */
export function agreedKeys(lists: readonly (readonly string[])[]): Set<string> {
  const [first = [], ...others] = lists;
  const sets = others.map((list) => new Set(list));
  return new Set(first.filter((key) => sets.every((set) => set.has(key))));
}
