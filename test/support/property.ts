/**
 * Settings for property tests: a reproducible seed (SEED, default 20261124) and a run budget
 * (FUZZ_RUNS, default 200), both from the environment so a failure can be replayed and a nightly run
 * can go deeper.
 * @module
 */
import fc from "fast-check";

const seed = Number(process.env.SEED ?? 20261124);
const numRuns = Number(process.env.FUZZ_RUNS ?? 200);

/** fast-check options with the suite's seed and budget; `scale` shrinks the budget for costly properties. */
export function propertyOptions(scale = 1): fc.Parameters<unknown> {
  return { seed, numRuns: Math.max(1, Math.round(numRuns * scale)) };
}

/** Asserts a property with the suite's seed and budget. fast-check prints the seed and path on failure. */
export function checkProperty<T>(property: fc.IProperty<T>, scale = 1): void {
  fc.assert(property, propertyOptions(scale) as fc.Parameters<T>);
}
