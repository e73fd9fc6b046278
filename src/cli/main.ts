/**
 * The `snippet` command line: thin commands that parse arguments, call the domain and print.
 * Exit codes: 0 done, 2 bad input or usage (nothing on stdout), 1 an unexpected failure.
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  BILLING_MODELS,
  type BillingModel,
  type BillRequest,
  billSlot,
  parseBillRequest,
  type SlotBilling,
  StatementBook,
  summarizeBills,
} from "../billing/index.ts";
import { type ClearRequest, clearCommunity, parseClearRequest } from "../market/index.ts";
import { PeerError } from "../mpc/transport/types.ts";
import { parseJsonText, ValidationError } from "../validation/index.ts";
import { registerBrokerCommand } from "./broker.ts";
import { runDemo } from "./demo.ts";
import { registerDsoCommand } from "./dso.ts";
import { registerHouseholdCommand } from "./household.ts";
import { readInputText, toJson } from "./io.ts";
import { registerMeterCommand } from "./meter.ts";
import { agentsOption, seedOption, slotsOption, wholeNumberOption } from "./options.ts";
import { registerSupplierCommand } from "./supplier.ts";
import { registerUpCommand } from "./up.ts";

/** Where the CLI reads and writes; the real process streams by default, buffers in tests. */
export interface CliStreams {
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
}

const EXIT_BAD_INPUT = 2;

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], streams: CliStreams = process): Promise<number> {
  const program = buildProgram(streams);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    if (error instanceof ValidationError) {
      const command = program.args[0] ?? "snippet";
      streams.stderr.write(
        `snippet ${command}: invalid input\n${error.issues.map((i) => `  ${i.path}: ${i.message}\n`).join("")}`,
      );
      return EXIT_BAD_INPUT;
    }
    if (error instanceof Error && error.name === "FindingsReported") return 1;
    if (error instanceof Error && error.name === "LedgerError") {
      // The ledger refused a transaction: the message names the contract's reason.
      streams.stderr.write(`snippet ${program.args[0] ?? ""}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof Error && error.name === "OperationalError") {
      // A service cannot go on for a reason its operator can fix: the message names it.
      streams.stderr.write(`snippet ${program.args[0] ?? ""}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof PeerError) {
      // A node stopped because a peer died, stalled or broke the protocol: the message names it.
      streams.stderr.write(`snippet ${program.args[0] ?? ""}: ${error.message}\n`);
      return 1;
    }
    streams.stderr.write(
      `snippet: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

const engineOption = (what: string): Option =>
  new Option(
    "--engine <engine>",
    `${what}: reference (the plaintext specification) or mpc (three MPC nodes on secret shares)`,
  )
    .choices(["reference", "mpc"])
    .default("reference");

const nodesOption = (): Option =>
  new Option(
    "--nodes <file>",
    "with --engine mpc: the running nodes' configuration (default: start three local nodes)",
  );

const indentOption = (): Option =>
  new Option("--indent <spaces>", "indent the JSON output by this many spaces (0: one line)")
    .argParser((text) => {
      const spaces = Number(text);
      if (!Number.isInteger(spaces) || spaces < 0 || spaces > 10) {
        throw new InvalidArgumentError("expected a whole number of spaces from 0 to 10");
      }
      return spaces;
    })
    .default(0);

/** Resolves after the event loop has handled what is pending (I/O callbacks included). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How far strategic agents plan ahead (simulate and compare). */
const horizonOption = (): Option =>
  wholeNumberOption("--horizon-hours <hours>", "strategic agents plan this far ahead", 1, 168).default(24);
/** How often strategic agents re-plan (simulate and compare). */
const replanOption = (): Option =>
  wholeNumberOption("--replan-hours <hours>", "strategic agents re-plan this often", 1, 168).default(4);

/** `scenarios/x.json` → `x`: the name of a scenario argument, for default output folders. */
function scenarioNameOf(argument: string): string {
  return (
    argument
      .replace(/\.json$/, "")
      .split("/")
      .pop() ?? argument
  );
}

function buildProgram(streams: CliStreams): Command {
  const program = new Command("snippet")
    .description(
      "A secure and privacy-friendly peer-to-peer electricity market for local energy communities.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    })
    .showHelpAfterError();

  program
    .command("clear")
    .description("Clear one slot of the community auction (JSON in and out, spec/io.md).")
    .argument("[file]", "input JSON file, or - for stdin", "-")
    .addOption(engineOption("engine"))
    .addOption(nodesOption())
    .addOption(indentOption())
    .action(async (file: string, options: { indent: number; engine: string; nodes?: string }) => {
      // Loaded on demand: the reference engine starts fast without the MPC code. Started before the
      // input is read, so that running nodes are being dialled meanwhile.
      const mpc =
        options.engine === "mpc" ? (await import("./mpc.ts")).mpcClearing(options.nodes) : undefined;
      let request: ClearRequest;
      try {
        const json = parseJsonText(await readInputText(file, streams));
        // Turns of the event loop between the long steps let the TLS handshakes progress: the nodes
        // answer while this parses, and the connections are up when the request is ready.
        if (mpc !== undefined) await nextTurn();
        request = parseClearRequest(json);
        if (mpc !== undefined) await nextTurn();
      } catch (error) {
        mpc?.abandon();
        throw error;
      }
      const result = mpc === undefined ? clearCommunity(request) : await mpc.run(request);
      streams.stdout.write(toJson(result, options.indent));
    });

  program
    .command("bill")
    .description(
      "Bill households over one or more slots with the Universal Cost Split (JSON in and out, spec/io.md).",
    )
    .argument("[file]", "input JSON file, or - for stdin", "-")
    .addOption(
      new Option("--model <model>", "how deviation costs are shared")
        .choices(BILLING_MODELS)
        .default("ucs-uniform"),
    )
    .addOption(engineOption("billing engine"))
    .addOption(nodesOption())
    .option("--statements", "print period statements (energy and money by stage, saving) instead of bills")
    .addOption(indentOption())
    .action(
      async (
        file: string,
        options: {
          model: BillingModel;
          statements?: boolean;
          indent: number;
          engine: string;
          nodes?: string;
        },
      ) => {
        const mpc =
          options.engine === "mpc"
            ? (await import("./mpc.ts")).mpcBilling(options.nodes, options.model)
            : undefined;
        let request: BillRequest;
        try {
          request = parseBillRequest(parseJsonText(await readInputText(file, streams)));
        } catch (error) {
          mpc?.abandon();
          throw error;
        }
        const billings =
          mpc === undefined
            ? request.slots.map((slot) => billSlot(slot, options.model))
            : await mpc.run(request.slots);
        for (const { slot, implausible } of billings)
          for (const { id, reason } of implausible)
            streams.stderr.write(`snippet bill: slot ${slot}, ${id}: ${reason}; billed at its commitment\n`);
        if (options.statements !== true) {
          streams.stdout.write(toJson(summarizeBills(options.model, billings), options.indent));
          return;
        }
        const book = new StatementBook();
        request.slots.forEach((slot, t) => {
          book.add(slot, billings[t] as SlotBilling);
        });
        streams.stdout.write(
          toJson({ version: 1, model: options.model, statements: book.statements() }, options.indent),
        );
      },
    );

  program
    .command("simulate")
    .description(
      "Simulate a community through all five steps (orders, bilateral, community auction, supplier, metering, billing); " +
        "writes summary.json, CSVs and report.html, and stores every slot so that a killed run can --resume.",
    )
    .option(
      "--scenario <name|file>",
      "a shipped scenario (default, winter-cooperative, congested-feeder, half-hourly-brokers) or a scenario file",
      "default",
    )
    .addOption(wholeNumberOption("--days <days>", "days to simulate", 1, 3660).default(2))
    .addOption(
      slotsOption(
        "simulate only the first this many slots (in place of --days; snippet up --slots runs the same)",
      ),
    )
    .addOption(seedOption())
    .option("--out <dir>", "output folder (default: out/<scenario>)")
    .option(
      "--db <url|dir>",
      "postgres://… for a PostgreSQL server, or a folder for the embedded database (default: <out>/db)",
    )
    .option("--resume", "continue a run killed before its end, from its last stored slot")
    .option(
      "--meter-csv <file>",
      "real meter series (timestamp,household,importWh,exportWh) in place of synthetic profiles",
    )
    .addOption(engineOption("community stage"))
    .addOption(nodesOption())
    .addOption(agentsOption())
    .addOption(horizonOption())
    .addOption(replanOption())
    .option(
      "--ledger",
      "post every slot's signed result and every period's bills to the EVM ledger (in <out>/ledger; " +
        "an embedded chain unless --ledger-rpc)",
    )
    .option(
      "--ledger-rpc <url>",
      "with --ledger: any Ethereum JSON-RPC endpoint in place of the embedded chain",
    )
    .option(
      "--ledger-key <file>",
      "with --ledger-rpc: a file holding the hex private key that pays and operates",
    )
    .addOption(
      wholeNumberOption(
        "--dispute-window <hours>",
        "with --ledger: how long after a period's bills are posted its slots can be disputed",
        0,
        24 * 366,
      ).default(168),
    )
    .option(
      "--ledger-fault <household@slot>",
      "with --ledger, a dispute demonstration: the nodes bill this household 1 EUR too much in this slot",
    )
    .action(
      async (options: {
        scenario: string;
        days: number;
        slots?: number;
        seed: number;
        out?: string;
        db?: string;
        resume?: boolean;
        meterCsv?: string;
        engine: "reference" | "mpc";
        nodes?: string;
        agents: "rule-based" | "strategic";
        horizonHours: number;
        replanHours: number;
        ledger?: boolean;
        ledgerRpc?: string;
        ledgerKey?: string;
        disputeWindow: number;
        ledgerFault?: string;
      }) => {
        const scenarioName = scenarioNameOf(options.scenario);
        if (
          options.ledger !== true &&
          (options.ledgerRpc ?? options.ledgerKey ?? options.ledgerFault) !== undefined
        )
          throw new ValidationError([{ path: "--ledger", message: "the ledger options need --ledger" }]);
        if ((options.ledgerRpc === undefined) !== (options.ledgerKey === undefined))
          throw new ValidationError([
            {
              path: "--ledger-rpc",
              message: "an RPC endpoint and its paying key go together (--ledger-key)",
            },
          ]);
        // Loaded on demand: charts, storage and logging are heavy, and only this command needs them.
        const { simulate } = await import("./simulate.ts");
        const outcome = await simulate(
          {
            scenario: options.scenario,
            days: options.days,
            ...(options.slots === undefined ? {} : { slots: options.slots }),
            seed: options.seed,
            out: options.out ?? `out/${scenarioName}`,
            resume: options.resume === true,
            ...(options.db === undefined ? {} : { db: options.db }),
            ...(options.meterCsv === undefined ? {} : { meterCsv: options.meterCsv }),
            engine: options.engine,
            ...(options.nodes === undefined ? {} : { nodes: options.nodes }),
            agents: options.agents,
            horizonHours: options.horizonHours,
            replanHours: options.replanHours,
            ...(options.ledger === true
              ? {
                  ledger: {
                    disputeWindowSeconds: options.disputeWindow * 3600,
                    ...(options.ledgerRpc === undefined ? {} : { rpcUrl: options.ledgerRpc }),
                    ...(options.ledgerKey === undefined
                      ? {}
                      : { payerKey: (await import("./ledger.ts")).readLedgerKey(options.ledgerKey) }),
                    ...(options.ledgerFault === undefined ? {} : { fault: options.ledgerFault }),
                  },
                }
              : {}),
          },
          streams.stderr,
        );
        streams.stdout.write(
          `summary: ${outcome.summaryPath}\nreport: ${outcome.reportPath}\n` +
            (outcome.ledgerPath === undefined ? "" : `ledger: ${outcome.ledgerPath}\n`),
        );
      },
    );

  program
    .command("compare")
    .description(
      "Run a scenario twice with the same seed, with rule-based and with strategic agents, and compare household cost, " +
        "savings, self-consumption and peak import; writes comparison.md, comparison.json and report.html.",
    )
    .option("--scenario <name|file>", "a shipped scenario or a scenario file", "default")
    .addOption(wholeNumberOption("--days <days>", "days to simulate", 1, 366).default(7))
    .addOption(seedOption())
    .option("--out <dir>", "output folder (default: out/<scenario>-compare)")
    .addOption(horizonOption())
    .addOption(replanOption())
    .action(
      async (options: {
        scenario: string;
        days: number;
        seed: number;
        out?: string;
        horizonHours: number;
        replanHours: number;
      }) => {
        const { compare } = await import("./simulate.ts");
        const outcome = await compare({
          scenario: options.scenario,
          days: options.days,
          seed: options.seed,
          out: options.out ?? `out/${scenarioNameOf(options.scenario)}-compare`,
          horizonHours: options.horizonHours,
          replanHours: options.replanHours,
        });
        streams.stdout.write(`${outcome.markdown}\nreport: ${outcome.reportPath}\n`);
      },
    );

  registerUpCommand(program, streams);
  registerBrokerCommand(program);
  registerMeterCommand(program);
  registerSupplierCommand(program);
  registerDsoCommand(program);
  registerHouseholdCommand(program);

  program
    .command("node")
    .description(
      "Run one of the three computing nodes: joins the other two over mutually authenticated TLS and " +
        "runs the clients' jobs until stopped (SIGINT/SIGTERM). Logs JSON lines to stderr.",
    )
    .requiredOption(
      "--config <file>",
      "node configuration (nodes.json; see snippet node-key and node-config)",
    )
    .addOption(
      new Option("--party <index>", "which node this is: 0, 1 or 2")
        .choices(["0", "1", "2"])
        .makeOptionMandatory(),
    )
    .option(
      "--key <file>",
      "this node's TLS private key, readable by its owner only (default: node-<party>.key.pem beside the config)",
    )
    .option(
      "--store <folder|url>",
      "where the node keeps its state: a PGlite folder, a postgres:// URL, or memory (default: node-<party>.store beside the config)",
    )
    .addOption(
      wholeNumberOption(
        "--health-port <port>",
        "serve GET /health on this port (0: any free port)",
        0,
        65535,
      ),
    )
    .option("--health-host <host>", "the address the health endpoint listens on", "127.0.0.1")
    .addOption(
      wholeNumberOption(
        "--compact-after-mb <MB>",
        "compact the store once this much was written since its last snapshot, and at least the snapshot's size (default 64)",
        0,
        1_000_000,
      ),
    )
    .addOption(wholeNumberOption("--delay-ms <ms>", "added latency per message between nodes", 0, 10_000))
    .action(
      async (options: {
        config: string;
        party: string;
        key?: string;
        store?: string;
        compactAfterMb?: number;
        healthPort?: number;
        healthHost: string;
        delayMs?: number;
      }) => {
        const { runNodeCommand } = await import("./node.ts");
        await runNodeCommand({
          config: options.config,
          party: Number(options.party) as 0 | 1 | 2,
          healthHost: options.healthHost,
          ...(options.key === undefined ? {} : { key: options.key }),
          ...(options.store === undefined ? {} : { store: options.store }),
          ...(options.compactAfterMb === undefined ? {} : { compactAfterMb: options.compactAfterMb }),
          ...(options.healthPort === undefined ? {} : { healthPort: options.healthPort }),
          ...(options.delayMs === undefined ? {} : { delayMs: options.delayMs }),
        });
      },
    );

  program
    .command("node-key")
    .description(
      "As one node's operator: generate its TLS key and self-signed ECDSA P-256 certificate, its ledger key " +
        "and <name>.public.json, the one file the other operators need. Never overwrites a file.",
    )
    .requiredOption("--name <name>", "the node's name, which also names its files")
    .requiredOption("--host <host>", "the host name or IP address the other nodes and the clients dial")
    .addOption(
      wholeNumberOption(
        "--port <port>",
        "the port it listens on for the other nodes",
        1,
        65535,
      ).makeOptionMandatory(),
    )
    .addOption(
      wholeNumberOption(
        "--client-port <port>",
        "the port it listens on for clients",
        1,
        65535,
      ).makeOptionMandatory(),
    )
    .requiredOption(
      "--out <dir>",
      "folder for the files (created owner-only); a private place, outside any shared or version-controlled folder",
    )
    .action(
      async (options: { name: string; host: string; port: number; clientPort: number; out: string }) => {
        const { generateNodeKey } = await import("../roles/mpc-node/keys.ts");
        const files = await generateNodeKey(options.out, {
          name: options.name,
          host: options.host,
          port: options.port,
          clientPort: options.clientPort,
        });
        streams.stdout.write(
          `TLS key, owner only, stays here:    ${files.key}\n` +
            `ledger key, owner only, stays here: ${files.ledgerKey}\n` +
            `certificate:                        ${files.certificate}\n` +
            `public description:                 ${files.description}\n` +
            `Send ${files.description} to the other two operators; the keys stay here. One of you assembles\n` +
            "  snippet node-config --assemble <party 0>.public.json <party 1>.public.json <party 2>.public.json --out <folder>\n" +
            "and gives everyone that folder. Then run this node with\n" +
            `  snippet node --config <folder>/nodes.json --party <i> --key ${files.key}\n`,
        );
      },
    );

  program
    .command("node-config")
    .description(
      "Write nodes.json, the nodes' configuration. With --assemble: from the three operators' public " +
        "descriptions (snippet node-key), with their certificates beside it. Without: for development, " +
        "three nodes on one host with fresh keys. Never overwrites a key, nor a different nodes.json.",
    )
    .option(
      "--out <dir>",
      "folder for nodes.json and the certificates, and in development for the keys (node-<i>.*); " +
        "out/ is ignored by git",
      "out/nodes",
    )
    .addOption(
      new Option(
        "--assemble <public-files...>",
        "the three nodes' <name>.public.json files, in party order 0, 1, 2",
      ).conflicts(["host", "basePort", "scenario"]),
    )
    .option("--registry <file>", "with --assemble: the registry of meters and parties the nodes serve from")
    .addOption(
      wholeNumberOption("--timeout-ms <ms>", "the nodes' network timeout (default 10000)", 1, 3_600_000),
    )
    .option("--host <host>", "development: the host every node listens on", "127.0.0.1")
    .addOption(
      wholeNumberOption(
        "--base-port <port>",
        "development: node i listens on base+i, clients on base+3+i",
        1024,
        65000,
      ).default(7100),
    )
    .addOption(
      new Option(
        "--scenario <name|file>",
        "development: also write registry.json of the scenario's meters and parties, with their keys in registry.keys.json",
      ).conflicts("registry"),
    )
    .action(
      async (options: {
        out: string;
        assemble?: string[];
        registry?: string;
        timeoutMs?: number;
        host: string;
        basePort: number;
        scenario?: string;
      }) => {
        if (options.assemble !== undefined) {
          const { assembleNodeConfig } = await import("../roles/mpc-node/config.ts");
          const configPath = await assembleNodeConfig(options.out, options.assemble, {
            ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
            ...(options.registry === undefined ? {} : { registry: options.registry }),
          });
          streams.stdout.write(`${configPath}\n`);
          return;
        }
        if (options.registry !== undefined)
          throw new ValidationError([
            {
              path: "--registry",
              message: "goes with --assemble; a development configuration takes --scenario",
            },
          ]);
        const { runNodeConfigCommand } = await import("./node.ts");
        streams.stdout.write(`${await runNodeConfigCommand(options)}\n`);
      },
    );

  const ledgerDirOption = () =>
    new Option(
      "--ledger <dir>",
      "the ledger folder of a run (simulate --ledger writes <out>/ledger)",
    ).makeOptionMandatory();
  /** Prints a ledger command's JSON report; a report with problems ends the command with exit code 1. */
  const report = async (work: () => Promise<object>, indent: number) => {
    const { FindingsReported } = await import("./ledger.ts");
    const result = await work();
    streams.stdout.write(toJson(result, indent));
    if ("ok" in result && result.ok === false) throw new FindingsReported("the check found problems");
  };

  program
    .command("verify")
    .description(
      "As a household: check every posted slot and period against your own data — your line's openings make " +
        "its leaf under the posted root, and your order, fill, meter reading, commitments and bill are right.",
    )
    .addOption(ledgerDirOption())
    .requiredOption("--household <id>", "the household checking")
    .addOption(indentOption())
    .action(async (options: { ledger: string; household: string; indent: number }) => {
      const { runVerify } = await import("./ledger.ts");
      await report(() => runVerify(options), options.indent);
    });

  program
    .command("dispute")
    .description(
      "As a household: dispute your bill of one slot. The contract recomputes it from your line's openings, " +
        "your meter's signed reading and the slot's aggregates; it corrects the period's statement and flags " +
        "the signing nodes, or keeps your bond when the bill was right.",
    )
    .addOption(ledgerDirOption())
    .requiredOption("--household <id>", "the household disputing")
    .requiredOption("--slot <time>", "the slot's start (ISO 8601)")
    .addOption(indentOption())
    .action(async (options: { ledger: string; household: string; slot: string; indent: number }) => {
      const { runDispute } = await import("./ledger.ts");
      await report(() => runDispute(options), options.indent);
    });

  program
    .command("settle")
    .description(
      "As the supplier: settle every posted period whose dispute window has closed — each household's bill, " +
        "with its corrections, between its deposit and yours.",
    )
    .addOption(ledgerDirOption())
    .option("--fast-forward", "on the embedded chain: move its clock past the open dispute windows first")
    .addOption(indentOption())
    .action(async (options: { ledger: string; fastForward?: boolean; indent: number }) => {
      const { runSettle } = await import("./ledger.ts");
      await report(
        () => runSettle({ ledger: options.ledger, fastForward: options.fastForward === true }),
        options.indent,
      );
    });

  program
    .command("audit")
    .description(
      "As anyone: replay the ledger's whole history and check every posted result, bill root, settlement, " +
        "dispute and deposit against the published board and the contract; names every tampered record.",
    )
    .addOption(ledgerDirOption())
    .addOption(indentOption())
    .action(async (options: { ledger: string; indent: number }) => {
      const { runAudit } = await import("./ledger.ts");
      await report(() => runAudit(options), options.indent);
    });

  program
    .command("demo")
    .description(
      "Run one slot of a small community through all three market stages and billing, and explain it.",
    )
    .action(() => {
      streams.stdout.write(runDemo());
    });

  return program;
}
