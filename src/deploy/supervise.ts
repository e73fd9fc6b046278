/**
 * The services of a local deployment as child processes: each started with its command line, its log
 * (JSON lines on stderr) appended to its own file, ready once it logs its "ready" line (whose fields —
 * ports — the caller gets), and stopped gracefully (SIGTERM).
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../system/package.ts";
import { stopProcess } from "../system/processes.ts";

const SNIPPET = join(packageRoot(), "bin", "snippet.js");

/** The last log kept in memory per service, for error messages. */
const LOG_KEPT = 64 * 1024;

/** What a service said when it was ready (its ports and the like). */
export type ReadyLine = Readonly<Record<string, unknown>>;

/** One service of the deployment as a process. */
export class ServiceProcess {
  #child: ChildProcess | undefined;
  #recent = "";
  #log: WriteStream;

  /**
   * @param name the service's name in messages and its log file's (`<logDir>/<name>.log`)
   * @param args the `snippet` command line (after `snippet`)
   */
  constructor(
    readonly name: string,
    private readonly args: readonly string[],
    private readonly options: {
      readonly logDir: string;
      readonly readyTimeoutMs: number;
      readonly env?: NodeJS.ProcessEnv;
      readonly nodeFlags?: readonly string[];
    },
  ) {
    this.#log = createWriteStream(join(options.logDir, `${name}.log`), { flags: "a" });
  }

  /** Starts the process; resolves with its ready line, rejects with its last log lines if it exits or stalls first. */
  start(): Promise<ReadyLine> {
    const child = spawn(process.execPath, [...(this.options.nodeFlags ?? []), SNIPPET, ...this.args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: this.options.env ?? process.env,
    });
    this.#child = child;
    this.#recent = "";
    let pending = "";
    let resolveReady: (line: ReadyLine) => void = () => undefined;
    let rejectReady: (error: Error) => void = () => undefined;
    const ready = new Promise<ReadyLine>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    const timer = setTimeout(
      () =>
        rejectReady(
          new Error(
            `${this.name} was not ready within ${this.options.readyTimeoutMs} ms: ${this.lastLines()}`,
          ),
        ),
      this.options.readyTimeoutMs,
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      this.#log.write(text);
      this.#recent = (this.#recent + text).slice(-LOG_KEPT);
      pending += text;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = readyLineOf(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (line !== undefined) {
          clearTimeout(timer);
          resolveReady(line);
        }
        newline = pending.indexOf("\n");
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      rejectReady(
        new Error(`${this.name} exited (${signal ?? code}) before it was ready: ${this.lastLines()}`),
      );
    });
    // Whoever starts a service awaits this; a later rejection (it exited after all) is not unhandled.
    ready.catch(() => undefined);
    return ready;
  }

  /** Resolves with the exit code when the process ends (at once when it is not running). */
  exited(): Promise<number | null> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null)
      return Promise.resolve(child?.exitCode ?? null);
    return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  /** Stops the process gracefully (SIGTERM) and waits for it. */
  async stop(): Promise<void> {
    if (this.#child !== undefined) await stopProcess(this.#child);
  }

  /** Its last log lines, for messages. */
  lastLines(count = 12): string {
    return this.#recent.trim().split("\n").slice(-count).join("\n");
  }

  /** Stops it and closes its log file. */
  async close(): Promise<void> {
    await this.stop();
    await new Promise((resolve) => this.#log.end(resolve));
  }
}

/** A log line that says the service is ready (`"msg":"ready"` or the nodes' `"event":"ready"`), parsed. */
function readyLineOf(line: string): ReadyLine | undefined {
  if (!line.includes('"ready"')) return undefined;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return parsed.msg === "ready" || parsed.event === "ready" ? parsed : undefined;
  } catch {
    return undefined;
  }
}
