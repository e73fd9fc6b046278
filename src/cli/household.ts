/**
 * `snippet household`: run one household's home device, or many homes in one process
 * (src/roles/household/service.ts). Loaded only when the command runs.
 * @module
 */
import type { Command } from "commander";
import { ValidationError } from "../validation/index.ts";

export function registerHouseholdCommand(program: Command): void {
  program
    .command("household")
    .description(
      "Run a household's home device until stopped: its agent plans each slot, sends its signed intent to " +
        "the three nodes, learns its commitments, publishes its simulated meter's readings on the home bus, " +
        "and keeps its own records and bills. --many runs every household of the config in one process, " +
        "each with its own keys and records.",
    )
    .requiredOption("--config <file>", "the households' configuration (households.json)")
    .option("--id <household>", "run this household (one of those the config lists)")
    .option("--many", "run every household the config lists")
    .action(async (options: { config: string; id?: string; many?: boolean }) => {
      if ((options.id === undefined) === (options.many !== true))
        throw new ValidationError([
          {
            path: "--id",
            message:
              "give --id <household> to run one home, or --many to run all the config lists (not both)",
          },
        ]);
      const { runHouseholdService } = await import("../roles/household/service.ts");
      await runHouseholdService(
        options.config,
        options.id === undefined ? { many: true } : { id: options.id },
      );
    });
}
