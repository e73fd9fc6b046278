/**
 * The folder of a local deployment, as `snippet up` writes it from a scenario: the three nodes'
 * keys, certificates and configuration with the community's registry (as the three operators and the
 * platform would set them up), and one config file per service — broker, households, meters, supplier,
 * DSO — on free loopback ports. `up.json` records what the deployment was made from, so that a
 * resumed deployment is the same one.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { generateNodeConfig } from "../roles/mpc-node/config.ts";
import { SIMULATION_BILLING_MODEL } from "../sim/community.ts";
import { communityRegistry } from "../sim/mpc-engines.ts";
import type { Scenario } from "../sim/scenario.ts";
import { freePorts } from "../system/processes.ts";
import { ValidationError } from "../validation/index.ts";

/** What a deployment is made from; a resumed one must be made from the same. */
export interface DeploymentPlan {
  /** The scenario's name, or its file's absolute path. */
  readonly scenario: string;
  readonly seed: number;
  readonly agents: "rule-based" | "strategic";
  /** Stop after this many slots; absent: run until stopped. */
  readonly slots?: number;
  /** Market minutes per wall minute. */
  readonly speed: number;
}

const planSchema = z.strictObject({
  scenario: z.string(),
  seed: z.number().int(),
  agents: z.enum(["rule-based", "strategic"]),
  slots: z.number().int().positive().optional(),
  speed: z.number().int().positive(),
});

/** Where each part of a deployment is, and the ports its services listen on. */
export interface Deployment {
  readonly dir: string;
  readonly plan: DeploymentPlan;
  readonly nodesConfig: string;
  readonly nodeHealthPorts: readonly [number, number, number];
  readonly brokerConfig: string;
  readonly brokerUrl: string;
  readonly householdsConfig: string;
  readonly metersConfig: string;
  readonly supplierConfig: string;
  readonly dsoConfig: string;
  /** The embedded MQTT broker's port (the home bus of the simulated homes and the meters' source). */
  readonly mqttPort: number;
  readonly logDir: string;
}

/** How long the gate closes before a slot starts, and how long readings are taken after it ends, minutes. */
const GATE_MINUTES = 5;
const GRACE_MINUTES = 5;
const HOST = "127.0.0.1";
/** Wall seconds between the broker's start and slot 0's planning window: what the other services take to start. */
const STARTUP_SECONDS = 20;

/**
 * Writes a new deployment into `dir`, or — `resume` — reopens the one there, which must have been made
 * from the same plan.
 * @throws {@link ValidationError} when `dir` holds a deployment and `resume` is not set, when `resume`
 * finds none, or when it was made from another plan (naming what differs).
 */
export async function prepareDeployment(
  dir: string,
  scenario: Scenario,
  plan: DeploymentPlan,
  options: { readonly resume: boolean },
): Promise<Deployment> {
  const { scenario: scenarioName, seed, agents, slots, speed } = plan;
  const made: DeploymentPlan = {
    scenario: scenarioName,
    seed,
    agents,
    speed,
    ...(slots === undefined ? {} : { slots }),
  };
  const root = resolve(dir);
  const planPath = join(root, "deployment", "up.json");
  if (existsSync(planPath)) {
    if (!options.resume)
      throw new ValidationError([
        {
          path: "--out",
          message: `${root} already holds a deployment: resume it with --resume, or choose another --out`,
        },
      ]);
    const stored = planSchema.parse(JSON.parse(readFileSync(planPath, "utf8")));
    const differences = (Object.keys(planSchema.shape) as (keyof DeploymentPlan)[]).filter(
      (key) => stored[key] !== made[key],
    );
    if (differences.length > 0)
      throw new ValidationError(
        differences.map((key) => ({
          path: `--${key}`,
          message: `the deployment in ${root} was made with ${key} ${String(stored[key])}, not ${String(made[key])}: --resume continues a deployment as it was made`,
        })),
      );
    return JSON.parse(readFileSync(join(root, "deployment", "ports.json"), "utf8")) as Deployment;
  }
  if (options.resume)
    throw new ValidationError([{ path: "--resume", message: `${root} holds no deployment to resume` }]);
  const deployment = await writeDeployment(root, scenario, made);
  writeFileSync(join(root, "deployment", "ports.json"), `${JSON.stringify(deployment, null, 2)}\n`);
  writeFileSync(planPath, `${JSON.stringify(made, null, 2)}\n`);
  return deployment;
}

async function writeDeployment(root: string, scenario: Scenario, plan: DeploymentPlan): Promise<Deployment> {
  const dir = join(root, "deployment");
  const logDir = join(root, "logs");
  mkdirSync(dir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const [n0, n1, n2, c0, c1, c2, h0, h1, h2, api, mqtt] = await freePorts(11);
  const nodesConfig = await generateNodeConfig(join(dir, "nodes"), {
    host: HOST,
    basePort: 0,
    ports: [n0, n1, n2] as [number, number, number],
    clientPorts: [c0, c1, c2] as [number, number, number],
    registry: communityRegistry(scenario),
  });
  const nodes = "nodes/nodes.json";
  const keys = "nodes/registry.keys.json";
  const health = { host: HOST, port: 0 };
  const brokerUrl = `http://${HOST}:${api}`;
  const mqttUrl = `mqtt://${HOST}:${mqtt}`;
  const write = (name: string, config: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
    return path;
  };
  const scenarioSource = { scenario: plan.scenario };
  return {
    dir: root,
    plan,
    nodesConfig,
    nodeHealthPorts: [h0, h1, h2] as [number, number, number],
    brokerConfig: write("broker.json", {
      listen: { host: HOST, port: api },
      store: "broker-db",
      nodes,
      keys,
      operator: "operator",
      calendar: {
        slotMinutes: scenario.slotMinutes,
        gateMinutes: GATE_MINUTES,
        graceMinutes: GRACE_MINUTES,
        speed: plan.speed,
        origin: scenario.start,
        // The households, meters, supplier and DSO start beside the broker: slot 0 waits for them.
        startDelaySeconds: STARTUP_SECONDS,
        ...(plan.slots === undefined ? {} : { slots: plan.slots }),
      },
      billingModel: SIMULATION_BILLING_MODEL,
    }),
    brokerUrl,
    householdsConfig: write("households.json", {
      broker: brokerUrl,
      nodes,
      keys,
      ...scenarioSource,
      seed: plan.seed,
      agents: plan.agents,
      households: "all",
      store: "households-db",
      homeBus: { url: mqttUrl },
      health,
    }),
    metersConfig: write("meters.json", {
      nodes,
      keys,
      meters: "all",
      source: { kind: "mqtt", url: mqttUrl },
      broker: brokerUrl,
      buffer: "meter-buffer",
      health,
    }),
    supplierConfig: write("supplier.json", {
      broker: brokerUrl,
      keys,
      party: "supplier",
      tariff: scenarioSource,
      aheadSlots: (24 * 60) / scenario.slotMinutes,
      nodes,
      health,
    }),
    dsoConfig: write("dso.json", {
      broker: brokerUrl,
      keys,
      party: "dso",
      network: scenarioSource,
      aheadSlots: (24 * 60) / scenario.slotMinutes,
      nodes,
      health,
    }),
    mqttPort: mqtt as number,
    logDir,
  };
}
