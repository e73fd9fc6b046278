/**
 * A role's service as a real process for tests: `snippet <command> --config <file>` run through the
 * command's own `register<Role>Command`, its JSON log lines kept, ready once it logs "ready".
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The CLI module and register function of each service command. */
const COMMANDS = {
  broker: ["../../src/cli/broker.ts", "registerBrokerCommand"],
  household: ["../../src/cli/household.ts", "registerHouseholdCommand"],
  meter: ["../../src/cli/meter.ts", "registerMeterCommand"],
  supplier: ["../../src/cli/supplier.ts", "registerSupplierCommand"],
  dso: ["../../src/cli/dso.ts", "registerDsoCommand"],
} as const;

export type ServiceCommand = keyof typeof COMMANDS;

/** A log line of a service, parsed. */
export type LogLine = Record<string, unknown> & { msg?: string };

export class ServiceProcess {
  readonly #child: ChildProcess;
  #text = "";
  readonly exited: Promise<number | null>;

  /** @param options more of the command's options, such as `["--many"]`. */
  constructor(command: ServiceCommand, config: string, options: readonly string[] = []) {
    const [module, register] = COMMANDS[command];
    const script = [
      `import { Command } from "commander";`,
      `import { ${register} } from ${JSON.stringify(fileURLToPath(new URL(module, import.meta.url)))};`,
      `const program = new Command("snippet").exitOverride();`,
      `${register}(program);`,
      `await program.parseAsync(${JSON.stringify([command, "--config", config, ...options])}, { from: "user" });`,
    ].join("\n");
    this.#child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.#child.stderr?.on("data", (chunk: Buffer) => {
      this.#text += chunk.toString("utf8");
    });
    this.exited = new Promise((resolve) => this.#child.once("exit", (code) => resolve(code)));
  }

  /** The log lines so far; a line that is not JSON (a crash's stack) is kept as its text. */
  lines(): LogLine[] {
    return this.#text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        try {
          return JSON.parse(line) as LogLine;
        } catch {
          return { msg: line };
        }
      });
  }

  /** The whole log so far, for a failing assertion's message. */
  get log(): string {
    return this.#text;
  }

  /** Resolves with the first log line `match` accepts; rejects when the process exits first or after `timeoutMs`. */
  async waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines().find(match);
      if (found !== undefined) return found;
      if (this.#child.exitCode !== null || this.#child.signalCode !== null)
        throw new Error(`the service exited before ${what}:\n${this.#text}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${this.#text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Its ready line. */
  ready(): Promise<LogLine> {
    return this.waitFor((line) => line.msg === "ready", "ready line");
  }

  /** Kills it at once. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
    await this.exited;
  }

  /** Stops it gracefully; resolves with its exit code. */
  async stop(): Promise<number | null> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
    return this.exited;
  }
}
