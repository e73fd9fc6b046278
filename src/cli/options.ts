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
