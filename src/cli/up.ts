/**
 * `snippet up`: the command that starts a whole community on this machine (src/deploy/up.ts).
 * @module
 */
import type { Command } from "commander";
import { agentsOption, seedOption, slotsOption, wholeNumberOption } from "./options.ts";

/** Where `snippet up` says what happens. */
export interface UpStreams {
  readonly stdout: { write(text: string): unknown };
}

export function registerUpCommand(program: Command, streams: UpStreams): void {
  program
    .command("up")
    .description(
      "Start a whole community on this machine as separate processes — three nodes, the broker, supplier, " +
        "DSO, meters and households, with an embedded MQTT broker as the homes' bus — on an accelerated clock, and " +
        "print the dashboard's URL. With --slots it stops after that many slots and writes what snippet " +
        "simulate writes for the same scenario and seed.",
    )
    .option("--scenario <name|file>", "a shipped scenario or a scenario file", "default")
    .addOption(seedOption())
    .addOption(slotsOption("stop after this many slots and write the outputs"))
    .addOption(
      wholeNumberOption(
        "--speed <factor>",
        "market minutes per wall minute (60: a 15-minute slot in 15 s)",
        1,
        10_000,
      ).default(60),
    )
    .option(
      "--out <dir>",
      "the deployment's folder: configs, stores, logs and outputs (default: out/up-<scenario>)",
    )
    .option("--resume", "continue the deployment in --out (made with the same parameters)")
    .addOption(agentsOption())
    .action(
      async (options: {
        scenario: string;
        seed: number;
        slots?: number;
        speed: number;
        out?: string;
        resume?: boolean;
        agents: "rule-based" | "strategic";
      }) => {
        const { resolve } = await import("node:path");
        const { existsSync } = await import("node:fs");
        const { loadScenario } = await import("../sim/scenarios.ts");
        const { up } = await import("../deploy/up.ts");
        const scenario = loadScenario(options.scenario);
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        try {
          const outcome = await up(scenario, {
            // A scenario file is named by its absolute path, so the services find it from their folder.
            scenario: existsSync(options.scenario) ? resolve(options.scenario) : options.scenario,
            seed: options.seed,
            agents: options.agents,
            speed: options.speed,
            ...(options.slots === undefined ? {} : { slots: options.slots }),
            out: options.out ?? `out/up-${scenario.name}`,
            resume: options.resume === true,
            say: (line) => streams.stdout.write(`${line}\n`),
            signal: abort.signal,
          });
          if (outcome.summaryPath !== undefined) streams.stdout.write(`summary: ${outcome.summaryPath}\n`);
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      },
    );
}
