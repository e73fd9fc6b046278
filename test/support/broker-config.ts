/**
 * What the broker's process tests share: a broker.json driving local nodes, for `snippet broker` run
 * as a process (service-process.ts).
 * @module
 */
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
