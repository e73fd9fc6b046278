/**
 * Option helpers shared by the command modules.
 * @module
 */
import { InvalidArgumentError, Option } from "commander";

/** An option taking a whole number in `[min, max]`. */
export function wholeNumberOption(flags: string, description: string, min: number, max: number): Option {
  return new Option(flags, description).argParser((text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return value;
  });
}

/** `--seed`: the seed of every random draw of a run (simulate, compare, up). */
export const seedOption = (): Option =>
  wholeNumberOption(
    "--seed <seed>",
    "seed of every random draw: the same seed gives the same run",
    0,
    2 ** 31 - 1,
  ).default(1);

/** `--slots`: a run of only the first this many slots (simulate and up run the same slots). */
export const slotsOption = (description: string): Option =>
  wholeNumberOption("--slots <count>", description, 1, 35_136);

/** `--agents`: the households' agents. */
export const agentsOption = (): Option =>
  new Option("--agents <kind>", "the households' agents: rule-based, or strategic (HiGHS planning)")
    .choices(["rule-based", "strategic"])
    .default("rule-based");
