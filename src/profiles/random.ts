/**
 * Seeded randomness for everything the simulation draws: one interface, injected everywhere, so that
 * the same seed gives the same run. Independent streams are forked by label (a household, an asset),
 * so that adding a household does not change the draws of the others.
 * @module
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

/** A seeded source of random numbers. */
export interface Random {
  /** A float uniform in [0, 1). */
  next(): number;
  /** An integer uniform in [min, max]. */
  int(min: number, max: number): number;
  /** A normally distributed float (Box–Muller). */
  normal(mean: number, standardDeviation: number): number;
  /** An independent stream for `label`, the same for the same seed and label whatever was drawn before. */
  fork(label: string): Random;
}

/** The random source of a run with seed `seed`. */
export function seededRandom(seed: number): Random {
  return new Xoroshiro(seed);
}

class Xoroshiro implements Random {
  private readonly generator: ReturnType<typeof xoroshiro128plus>;

  constructor(private readonly seed: number) {
    this.generator = xoroshiro128plus(seed);
  }

  next(): number {
    // 53 random bits from two 32-bit draws (the top 26 and 27 bits), as a double in [0, 1).
    const high = this.generator.next() >>> 6;
    const low = this.generator.next() >>> 5;
    return (high * 2 ** 27 + low) / 2 ** 53;
  }

  int(min: number, max: number): number {
    return uniformInt(this.generator, min, max);
  }

  normal(mean: number, standardDeviation: number): number {
    const u = 1 - this.next(); // in (0, 1], so the logarithm is finite
    const v = this.next();
    return mean + standardDeviation * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  fork(label: string): Random {
    return new Xoroshiro(mixSeed(this.seed, label));
  }
}

/** A 32-bit seed from a seed and a label (FNV-1a over the label's UTF-16 units, seeded by `seed`). */
function mixSeed(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash | 0;
}
