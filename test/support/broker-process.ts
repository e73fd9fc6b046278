/**
 * What the broker's process tests share: a broker.json for local nodes, and `snippet broker` started
 * as a process of its own (the command as src/cli/broker.ts registers it), ready once it logs so.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { LocalCluster } from "../../src/roles/mpc-node/local-cluster.ts";

/** Writes `<folder>/broker.json` driving `cluster` with `calendar`; @returns its path. */
export function writeBrokerConfig(
  folder: string,
  cluster: LocalCluster,
  calendar: Record<string, unknown>,
): string {
  const path = join(folder, "broker.json");
  writeFileSync(
    path,
    JSON.stringify({
      listen: { host: "127.0.0.1", port: 0 },
      store: "broker-db",
      nodes: cluster.configPath,
      keys: join(dirname(cluster.configPath), "registry.keys.json"),
      operator: "operator",
      calendar,
      billingModel: "ucs-uniform",
    }),
  );
  return path;
}

/** A broker process: its ready line's fields, its exit code once it exits, and its log so far. */
export interface BrokerProcess {
  readonly child: ChildProcess;
  readonly ready: { readonly apiPort: number };
  readonly exited: Promise<number | null>;
  log(): string;
}

/** Starts `snippet broker --config <configPath>`; resolves once it is ready. */
export async function startBrokerProcess(configPath: string): Promise<BrokerProcess> {
  const entry = new URL("../../src/cli/broker.ts", import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "--eval",
      `import { Command } from "commander";
      import { registerBrokerCommand } from ${JSON.stringify(entry)};
      const program = new Command("snippet");
      registerBrokerCommand(program);
      await program.parseAsync(process.argv.slice(1), { from: "user" });`,
      "broker",
      "--config",
      configPath,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = await new Promise<{ apiPort: number }>((resolve, reject) => {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      log += chunk;
      const line = log.split("\n").find((text) => text.includes('"msg":"ready"'));
      if (line !== undefined) resolve(JSON.parse(line));
    });
    void exited.then((code) => reject(new Error(`the broker exited (${code}) before it was ready:\n${log}`)));
  });
  return { child, ready, exited, log: () => log };
}
