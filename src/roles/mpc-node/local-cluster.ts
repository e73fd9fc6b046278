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
}

/** Three running node processes. */
export interface LocalCluster {
  readonly configPath: string;
  readonly config: NodeConfig;
  readonly processes: readonly ChildProcess[];
  /** Kills one node's process at once (fault tests). */
  kill(party: PartyId): void;
  /** Stops all nodes and removes the configuration. */
  stop(): Promise<void>;
}

/**
 * glibc settings for node processes: keep freed memory for reuse instead of returning it to the
 * kernel. The protocols allocate vectors of megabytes per round; fresh pages cost a fault each, and
 * in this VM that made first writes ~30× slower than writes to reused memory.
 */
export const NODE_MALLOC_ENV = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(4 * 2 ** 30),
  MALLOC_TOP_PAD_: String(256 * 2 ** 20),
};

/**
 * A young generation large enough that per-round temporaries die young, and garbage collection on the
 * node's own thread: three nodes on two cores gain nothing from GC helper threads competing for them.
 * No incremental marking: the vectors live outside V8's heap, and every 64 MB of them allocated
 * started an incremental mark of the small heap whose hundred-odd steps cost 10–30 ms each time
 * (four times per job at 10,000 orders); without it, the same pressure is relieved by scavenges and
 * a rare full collection, and a node spends a fifth of the CPU time it did on collection.
 */
export const NODE_V8_FLAGS = ["--max-semi-space-size=64", "--single-threaded-gc", "--no-incremental-marking"];

const SNIPPET = join(packageRoot(), "bin", "snippet.js");

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
  const processes = PARTIES.map((party) =>
    spawn(
      process.execPath,
      [
        ...NODE_V8_FLAGS,
        SNIPPET,
        "node",
        "--config",
        configPath,
        "--party",
        String(party),
        ...(options.delayMs === undefined ? [] : ["--delay-ms", String(options.delayMs)]),
      ],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...NODE_MALLOC_ENV } },
    ),
  );
  const stop = async () => {
    await Promise.all(processes.map((child) => stopProcess(child)));
    await rm(folder, { recursive: true, force: true });
  };
  try {
    await Promise.all(processes.map((child, party) => ready(child, party as PartyId, config.timeoutMs * 2)));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    configPath,
    config,
    processes,
    kill: (party) => processes[party]?.kill("SIGKILL"),
    stop,
  };
}

/** Resolves when the node logs its ready event; rejects with its last log line if it exits first. */
function ready(child: ChildProcess, party: PartyId, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(
      () => reject(new Error(`node ${party} was not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      log += chunk.toString("utf8");
      if (log.includes('"event":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `node ${party} exited (${code}) before it was ready: ${log.trim().split("\n").slice(-12).join("\n")}`,
        ),
      );
    });
  });
}
