/**
 * What one client may cost a node: connections per address, bytes per message (known from the
 * frame header, before the body is read), jobs waiting per party, requests per second, refused
 * messages per connection and replies left unread. A client past a limit is refused or cut off
 * alone; the rest of the market goes on.
 * @module
 */
import { z } from "zod";
import { MAX_FRAME_BYTES } from "../../mpc/transport/frames.ts";
import { integerField } from "../../validation/index.ts";

const MiB = 2 ** 20;

const count = (what: string) => integerField(1, 1_000_000, `not a positive ${what}`, `above 1,000,000`);
const bytes = integerField(1024, MAX_FRAME_BYTES, "below 1 KiB", `above ${MAX_FRAME_BYTES} bytes`);

/** The limits as a node configuration lists them (every field optional; {@link DEFAULT_CLIENT_LIMITS} fill the rest). */
export const clientLimitsSchema = z.strictObject({
  /** Open client connections from one network address. */
  connectionsPerAddress: count("connection count").optional(),
  /** Open client connections in all. */
  connections: count("connection count").optional(),
  /** The JSON header of any message. */
  headerBytes: bytes.optional(),
  /** The body of a message from anyone but the operator and suppliers (an intent, a reading, a household's job). */
  bodyBytes: bytes.optional(),
  /** The body of a job signed by the operator or a supplier (a whole community's bills). */
  largeBodyBytes: bytes.optional(),
  /** Jobs one party (or one unsigned connection) may have waiting to run. */
  pendingJobsPerClient: count("job count").optional(),
  /** Job requests one party may make per second, sustained… */
  jobsPerSecond: count("rate").optional(),
  /** …and at once. */
  jobBurst: count("burst").optional(),
  /** Refused messages one connection may send per second, sustained, before it is cut off… */
  refusalsPerSecond: count("rate").optional(),
  /** …and at once. */
  refusalBurst: count("burst").optional(),
  /** Reply bytes a connection may leave unread before it is cut off as a slow reader. */
  unreadReplyBytes: bytes.optional(),
});
export type ClientLimitsFile = z.infer<typeof clientLimitsSchema>;
export type ClientLimits = { readonly [K in keyof ClientLimitsFile]-?: number };

/**
 * Defaults sized for one community of 10,000 households on one deployment: a household's intent and
 * a reading are a few kilobytes, an operator's bill job for 10,000 households some megabytes.
 */
export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  connectionsPerAddress: 256,
  connections: 20_000,
  headerBytes: 16 * MiB,
  bodyBytes: 1 * MiB,
  largeBodyBytes: MAX_FRAME_BYTES,
  pendingJobsPerClient: 8,
  jobsPerSecond: 50,
  jobBurst: 500,
  refusalsPerSecond: 10,
  refusalBurst: 100,
  unreadReplyBytes: 256 * MiB,
};

/** The limits of a configuration, defaults where it is silent. */
export function clientLimits(file: ClientLimitsFile | undefined): ClientLimits {
  const limits: Record<string, number> = { ...DEFAULT_CLIENT_LIMITS };
  for (const [name, value] of Object.entries(file ?? {})) if (value !== undefined) limits[name] = value;
  return limits as ClientLimits;
}

/**
 * Token buckets by key: each holds up to `burst` tokens and gains `perSecond` a second. Buckets that
 * are full again are forgotten, so memory follows the clients active in the last `burst / perSecond` s.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: () => number,
  ) {}

  /** Takes one token of `key`'s bucket: false when it has none left. */
  take(key: string): boolean {
    const now = this.clock();
    const bucket = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > 4096) this.#forgetFull(now);
    return true;
  }

  #forgetFull(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst)
        this.#buckets.delete(key);
    }
  }
}

/** Counts of open things by key (connections by address, waiting jobs by party), each under a cap. */
export class Counter {
  readonly #counts = new Map<string, number>();
  #total = 0;

  /** Counts one more for `key` unless that would pass `perKey` or `total`: false then. */
  enter(key: string, perKey: number, total = Number.POSITIVE_INFINITY): boolean {
    const current = this.#counts.get(key) ?? 0;
    if (current >= perKey || this.#total >= total) return false;
    this.#counts.set(key, current + 1);
    this.#total++;
    return true;
  }

  leave(key: string): void {
    const current = this.#counts.get(key) ?? 0;
    if (current <= 1) this.#counts.delete(key);
    else this.#counts.set(key, current - 1);
    if (current > 0) this.#total--;
  }

  of(key: string): number {
    return this.#counts.get(key) ?? 0;
  }
}
