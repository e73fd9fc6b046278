/**
 * `snippet dso`: the DSO's service (src/roles/dso/service.ts).
 * @module
 */
import type { Command } from "commander";

export function registerDsoCommand(program: Command): void {
  program
    .command("dso")
    .description(
      "Run the DSO's service: keeps the coming slots' network fee and zone limits published on the broker, " +
        "stores each billed slot's totals per zone and logs congestion. Logs JSON lines to stderr; stops on " +
        "SIGINT/SIGTERM.",
    )
    .requiredOption("--config <file>", "the service's config (dso.json; see docs/deployment.md)")
    .action(async (options: { config: string }) => {
      const { runDsoService } = await import("../roles/dso/service.ts");
      await runDsoService(options.config);
    });
}
