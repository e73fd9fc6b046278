/**
 * `snippet supplier`: a supplier's service (src/roles/supplier/service.ts).
 * @module
 */
import type { Command } from "commander";

export function registerSupplierCommand(program: Command): void {
  program
    .command("supplier")
    .description(
      "Run a supplier's service: keeps the coming slots' feed-in and retail prices published on the broker, " +
        "and stores its portfolio's totals of each billed slot and its customers' bills of each closed period. " +
        "Logs JSON lines to stderr; stops on SIGINT/SIGTERM.",
    )
    .requiredOption("--config <file>", "the service's config (supplier.json; see docs/deployment.md)")
    .action(async (options: { config: string }) => {
      const { runSupplierService } = await import("../roles/supplier/service.ts");
      await runSupplierService(options.config);
    });
}
