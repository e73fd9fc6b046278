/**
 * `snippet meter`: the meter service (src/roles/meter/service.ts).
 * @module
 */
import type { Command } from "commander";

export function registerMeterCommand(program: Command): void {
  program
    .command("meter")
    .description(
      "Run a meter service: takes each slot's reading of its meters from the home bus (MQTT), a CSV series " +
        "or the scenario's synthetic homes, buffers it on disk, and sends it sealed and signed to the three " +
        "nodes until they hold it. Logs JSON lines to stderr; stops on SIGINT/SIGTERM.",
    )
    .requiredOption("--config <file>", "the service's config (meters.json; see docs/deployment.md)")
    .action(async (options: { config: string }) => {
      const { runMeterService } = await import("../roles/meter/service.ts");
      await runMeterService(options.config);
    });
}
