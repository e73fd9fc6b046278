/**
 * `snippet up`: a whole community on this machine as separate processes — three nodes, the broker,
 * the supplier, the DSO, the meters and the households, with an embedded MQTT broker as the homes'
 * bus — on an accelerated clock. With a slot count it stops after those slots and writes what
 * `snippet simulate` writes for the same scenario and seed, from the households' own records.
 * @module
 */
import { join } from "node:path";
import { readOwnRecords } from "../roles/household/records.ts";
import { NODE_V8_FLAGS, nodeRuntimeEnv } from "../roles/mpc-node/runtime.ts";
import { RunAccumulator } from "../sim/accumulate.ts";
import { SlotCsvWriter, writeRunOutputs } from "../sim/outputs.ts";
import type { Scenario } from "../sim/scenario.ts";
import { startEmbeddedMqtt } from "../system/mqtt.ts";
import { ValidationError } from "../validation/index.ts";
import { slotRecordsOf } from "./outputs.ts";
import { type Deployment, type DeploymentPlan, prepareDeployment } from "./prepare.ts";
import { ServiceProcess } from "./supervise.ts";

export interface UpOptions extends DeploymentPlan {
  /** The deployment's folder: its configs, stores and logs, and the outputs of a run with `slots`. */
  readonly out: string;
  readonly resume: boolean;
  /** Told what happens, one sentence at a time (the dashboard's URL first). */
  readonly say: (line: string) => void;
  /** Aborts a run without `slots` (SIGINT). */
  readonly signal?: AbortSignal;
}

/** How long a service may take to say it is ready, ms (a node's first PGlite store takes seconds). */
const READY_TIMEOUT_MS = 60_000;

/**
 * Runs a deployment: until `signal` aborts, or — with `slots` — until the broker has billed the last
 * slot; then stops every service gracefully and, with `slots`, writes summary.json, the CSVs and
 * report.html into `out`.
 */
export async function up(scenario: Scenario, options: UpOptions): Promise<{ summaryPath?: string }> {
  if (scenario.roles === "S2" || scenario.roles === "S3")
    throw new ValidationError([
      {
        path: "--scenario",
        message: `${scenario.name} has representatives trading for their clients (roles ${scenario.roles}); snippet up runs communities whose households trade themselves (S1, S4) until representatives run as services`,
      },
    ]);
  const deployment = await prepareDeployment(options.out, scenario, options, { resume: options.resume });
  const mqtt = await startEmbeddedMqtt({ host: "127.0.0.1", port: deployment.mqttPort });
  const services = servicesOf(deployment);
  try {
    // Nodes first (they join each other), then the broker that drives them, then who reads its board.
    await Promise.all([0, 1, 2].map((party) => services.get(`node-${party}`)?.start()));
    await (services.get("broker") as ServiceProcess).start();
    await Promise.all(
      ["supplier", "dso", "meters", "households"].map((name) =>
        (services.get(name) as ServiceProcess).start(),
      ),
    );
    options.say(`dashboard: ${deployment.brokerUrl}/ (API: ${deployment.brokerUrl}/openapi.json)`);
    options.say(`logs: ${deployment.logDir}`);
    if (options.slots === undefined) {
      await new Promise<void>((resolve) => {
        if (options.signal?.aborted) resolve();
        options.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      return {};
    }
    const code = await (services.get("broker") as ServiceProcess).exited();
    if (code !== 0)
      throw new Error(
        `the broker stopped (${code}) before the last slot was billed: ${(services.get("broker") as ServiceProcess).lastLines()}`,
      );
    options.say(`${options.slots} slots billed; stopping the services`);
  } finally {
    // Households last among the clients: each finishes recording the slot in hand.
    for (const name of ["households", "meters", "supplier", "dso", "broker", "node-0", "node-1", "node-2"])
      await services.get(name)?.close();
    await mqtt.close();
  }
  const summaryPath = await writeOutputs(scenario, deployment, options.slots);
  return summaryPath === undefined ? {} : { summaryPath };
}

/** Every service of the deployment as a process, not yet started. */
function servicesOf(deployment: Deployment): Map<string, ServiceProcess> {
  const dir = join(deployment.dir, "deployment");
  const options = { logDir: deployment.logDir, readyTimeoutMs: READY_TIMEOUT_MS };
  const services = new Map<string, ServiceProcess>();
  for (const party of [0, 1, 2] as const)
    services.set(
      `node-${party}`,
      new ServiceProcess(
        `node-${party}`,
        [
          "node",
          "--config",
          deployment.nodesConfig,
          "--party",
          String(party),
          "--store",
          join(dir, `node-${party}.store`),
          "--health-port",
          String(deployment.nodeHealthPorts[party]),
        ],
        { ...options, nodeFlags: NODE_V8_FLAGS, env: nodeRuntimeEnv() },
      ),
    );
  services.set(
    "broker",
    new ServiceProcess("broker", ["broker", "--config", deployment.brokerConfig], options),
  );
  services.set(
    "supplier",
    new ServiceProcess("supplier", ["supplier", "--config", deployment.supplierConfig], options),
  );
  services.set("dso", new ServiceProcess("dso", ["dso", "--config", deployment.dsoConfig], options));
  services.set(
    "meters",
    new ServiceProcess("meters", ["meter", "--config", deployment.metersConfig], options),
  );
  services.set(
    "households",
    new ServiceProcess(
      "households",
      ["household", "--config", deployment.householdsConfig, "--many"],
      options,
    ),
  );
  return services;
}

/** summary.json, the CSVs and report.html of the run's first `slots` slots, from the households' records. */
async function writeOutputs(
  scenario: Scenario,
  deployment: Deployment,
  slots: number | undefined,
): Promise<string | undefined> {
  if (slots === undefined) return undefined;
  const householdIds = scenario.households.map((household) => household.id);
  const own = await readOwnRecords(join(deployment.dir, "deployment", "households-db"), householdIds);
  const records = slotRecordsOf(householdIds, own, slots);
  const accumulator = new RunAccumulator(
    { scenario: scenario.name, engine: "mpc", seed: deployment.plan.seed },
    householdIds,
  );
  const csv = new SlotCsvWriter(deployment.dir);
  try {
    for (const record of records) {
      accumulator.add(record);
      csv.add(record);
    }
  } finally {
    csv.close();
  }
  const slotsPerDay = (24 * 60) / scenario.slotMinutes;
  const length = slots % slotsPerDay === 0 ? `${slots / slotsPerDay} days` : `${slots} slots`;
  return writeRunOutputs(
    deployment.dir,
    accumulator,
    `${scenario.name}: ${length}, seed ${deployment.plan.seed}`,
  ).summaryPath;
}
