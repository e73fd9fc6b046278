/**
 * Benchmark plumbing: seeded random numbers, timing with warm-up and medians, and the result rows
 * that bench/run.ts prints as a table and writes as JSON.
 * @module
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** A seeded integer source: `next(min, max)` draws uniformly from `[min, max]`. */
export function seededIntegers(seed: number): { next(min: number, max: number): number } {
  const rng = xoroshiro128plus(seed);
  return { next: (min, max) => uniformInt(rng, min, max) };
}

/** One measured figure against its target. */
export interface BenchRow {
  readonly name: string;
  readonly size: string;
  /** Median wall time over the runs. */
  readonly medianMs: number;
  readonly minMs: number;
  readonly runs: number;
  /** The bar for this figure, when it has one. */
  readonly targetMs?: number;
  readonly note?: string;
}

/** Times `work` `runs` times after `warmup` untimed calls; returns median and minimum in ms. */
export function measure(
  work: () => unknown,
  runs: number,
  warmup = 1,
): { medianMs: number; minMs: number; runs: number } {
  for (let i = 0; i < warmup; i++) work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  return { medianMs: median(times), minMs: Math.min(...times), runs };
}

/** The median of some measurements (the upper one of an even count). */
export function median(values: readonly number[]): number {
  return values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}
