/**
 * Three nodes as local processes (`snippet node`) with a fresh development configuration: what
 * tests, benchmarks and the default MPC engine run against when no running nodes are configured.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PARTIES, type PartyId } from "../../mpc/transport/types.ts";
import type { GeneratedRegistry } from "../../private/registry.ts";
import { packageRoot } from "../../system/package.ts";
import { freePorts, stopProcess } from "../../system/processes.ts";
import { generateNodeConfig, loadNodeConfig, type NodeConfig } from "./config.ts";
import type { ClientLimitsFile } from "./limits.ts";
import { NODE_V8_FLAGS, nodeRuntimeEnv } from "./runtime.ts";

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Added latency per message between nodes. */
  delayMs?: number;
  /** Network timeout of the nodes (default 10 s). */
  timeoutMs?: number;
  /** A registry of meters and parties the nodes serve from, written beside their configuration. */
  registry?: GeneratedRegistry;
  /** Per-client limits of the nodes where they differ from the defaults. */
  limits?: ClientLimitsFile;
  /**
   * Where the nodes keep their state: in memory (the default: the cluster lives as long as its
   * user), or each in its own PGlite folder beside the configuration, which outlives a killed node.
   */
  store?: "memory" | "pglite";
  /** With PGlite stores: compact each once this many MB were written since its last snapshot (0: after every job). */
  compactAfterMb?: number;
  /** Whether each node serves its health endpoint (on a free port). */
  health?: boolean;
}

/** Three running node processes. */
export interface LocalCluster {
  readonly configPath: string;
  readonly config: NodeConfig;
  readonly processes: readonly ChildProcess[];
  /** Kills one node's process at once (fault tests). */
  kill(party: PartyId): void;
  /** Starts a killed node again, from its store; resolves once it has joined the other two. */
  restart(party: PartyId): Promise<void>;
  /** A node's health endpoint's URL (with `health`). */
  healthUrl(party: PartyId): string;
  /** A node's log so far (its last 256 kB). */
  log(party: PartyId): string;
  /** Stops all nodes and removes the configuration. */
  stop(): Promise<void>;
}

const SNIPPET = join(packageRoot(), "bin", "snippet.js");
const LOG_KEPT = 256 * 1024;

/** Starts three nodes on free local ports and resolves once all three report they are ready. */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const folder = await mkdtemp(join(tmpdir(), "snippet-nodes-"));
  const ports = await freePorts(6);
  const configPath = await generateNodeConfig(folder, {
    host: "127.0.0.1",
    basePort: 0,
    ports: [ports[0], ports[1], ports[2]] as [number, number, number],
    clientPorts: [ports[3], ports[4], ports[5]] as [number, number, number],
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const config = await loadNodeConfig(configPath);
  const logs = ["", "", ""];
  const healthPorts: (number | undefined)[] = [undefined, undefined, undefined];
  const launch = (party: PartyId): { child: ChildProcess; ready: Promise<void> } => {
    const child = spawn(
      process.execPath,
      [
        ...NODE_V8_FLAGS,
        SNIPPET,
        "node",
        "--config",
        configPath,
        "--party",
        String(party),
        "--store",
        options.store === "pglite" ? join(folder, `node-${party}.store`) : "memory",
        ...(options.compactAfterMb === undefined
          ? []
          : ["--compact-after-mb", String(options.compactAfterMb)]),
        ...(options.health === true ? ["--health-port", "0"] : []),
        ...(options.delayMs === undefined ? [] : ["--delay-ms", String(options.delayMs)]),
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: nodeRuntimeEnv() },
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      logs[party] = (logs[party] + chunk.toString("utf8")).slice(-LOG_KEPT);
      if (healthPorts[party] !== undefined) return;
      const port = /"event":"listening"[^\n]*"healthPort":(\d+)/.exec(logs[party] as string)?.[1];
      if (port !== undefined) healthPorts[party] = Number(port);
    });
    return {
      child,
      ready: ready(child, party, () => logs[party] as string, Math.max(30_000, config.timeoutMs * 2)),
    };
  };
  const launched = PARTIES.map(launch);
  const processes = launched.map(({ child }) => child);
  const stop = async () => {
    await Promise.all(processes.map((child) => stopProcess(child)));
    await rm(folder, { recursive: true, force: true });
  };
  try {
    await Promise.all(launched.map(({ ready }) => ready));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    configPath,
    config,
    processes,
    kill: (party) => processes[party]?.kill("SIGKILL"),
    async restart(party) {
      await stopProcess(processes[party] as ChildProcess);
      logs[party] = "";
      healthPorts[party] = undefined;
      const again = launch(party);
      processes[party] = again.child;
      await again.ready;
    },
    healthUrl(party) {
      const port = healthPorts[party];
      if (port === undefined) throw new Error(`node ${party} serves no health endpoint`);
      return `http://127.0.0.1:${port}/health`;
    },
    log: (party) => logs[party] as string,
    stop,
  };
}

/** Resolves when the node logs its ready event; rejects with its last log lines if it exits first. */
function ready(child: ChildProcess, party: PartyId, log: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node ${party} was not ready within ${timeoutMs} ms: ${lastLines(log())}`)),
      timeoutMs,
    );
    const onData = () => {
      if (!log().includes('"event":"ready"')) return;
      clearTimeout(timer);
      child.stderr?.off("data", onData);
      resolve();
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${party} exited (${code}) before it was ready: ${lastLines(log())}`));
    });
  });
}

function lastLines(log: string): string {
  return log.trim().split("\n").slice(-12).join("\n");
}
