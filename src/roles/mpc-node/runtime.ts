/**
 * The runtime settings a node process computes fastest with — V8 flags and glibc malloc settings,
 * which only take effect at process start — and the relaunch that applies them when `snippet node`
 * was started without them.
 * @module
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../system/package.ts";

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

/** Set in a node process started with the settings above. */
const MARKER = "SNIPPET_NODE_RUNTIME";

/** The environment of a node process started with its settings. */
export function nodeRuntimeEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...NODE_MALLOC_ENV, [MARKER]: "1" };
}

/**
 * In a process started without the node's settings: runs `snippet <args>` in a child that has them,
 * passing signals on, and resolves with its exit code. In a process that has them: resolves
 * undefined at once, and the caller runs the node itself. A child whose parent dies (SIGKILL leaves
 * no time to pass it on) exits too.
 */
export function relaunchWithNodeRuntime(args: readonly string[]): Promise<number> | undefined {
  if (process.env[MARKER] === "1") {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) process.exit(1);
    }, 500).unref();
    return undefined;
  }
  const snippet = join(packageRoot(), "bin", "snippet.js");
  const child = spawn(process.execPath, [...NODE_V8_FLAGS, snippet, ...args], {
    stdio: "inherit",
    env: nodeRuntimeEnv(),
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}
