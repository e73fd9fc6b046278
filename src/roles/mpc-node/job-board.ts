/**
 * The job requests that reached one node, waiting for their turn: node 0 announces them in the
 * order they reached it, nodes 1 and 2 wait for their own copy of what it announces.
 * @module
 */
import type { JobRequest, MessageSocket } from "./jobs.ts";

/** A request as one node received it, under its key on the job board. */
export interface Submission {
  /** The signer's own job id (`party job`), or the bare id of an unsigned request. */
  key: string;
  request: JobRequest;
  client: MessageSocket;
  body: Uint8Array;
  /** When it arrived (performance.now()). */
  arrivedMs: number;
  /** Called once when the request leaves the board. */
  release(): void;
}

/**
 * The requests that reached this node, by job id, in arrival order; and the waits for them. A
 * request that arrives while its job's id is already pending is refused at once.
 */
export class JobBoard {
  readonly #pending = new Map<string, Submission>();
  readonly #arrivals: string[] = [];
  readonly #clients = new Set<MessageSocket>();
  #wake: (() => void) | undefined;

  /** Only node 0 sets the order of jobs, so only it keeps the order in which requests arrived. */
  constructor(private readonly keepsArrivalOrder: boolean) {}

  submit(submission: Submission): void {
    const { key } = submission;
    if (this.#pending.has(key)) {
      const { job } = submission.request;
      submission.client.send({ type: "error", job, message: `job ${job} is already pending` });
      submission.release();
      return;
    }
    this.#pending.set(key, submission);
    if (this.keepsArrivalOrder) this.#arrivals.push(key);
    this.wake();
  }

  /**
   * Drops the requests that waited longer than `maxWaitMs` for their turn (the other nodes never
   * announced them: they did not reach node 0, or a client sent them to this node only), telling
   * their clients.
   */
  expire(maxWaitMs: number): void {
    const now = performance.now();
    for (const submission of this.#pending.values()) {
      if (now - submission.arrivedMs <= maxWaitMs) continue;
      const { job } = submission.request;
      submission.client.send({
        type: "error",
        job,
        message: `job ${job} did not start within ${maxWaitMs} ms: did the request reach all three nodes?`,
      });
      this.forget(submission);
    }
  }

  /** The next job id in arrival order, or undefined after `waitMs` without one. */
  async nextArrival(waitMs: number): Promise<string | undefined> {
    while (this.#arrivals.length > 0) {
      const job = this.#arrivals.shift() as string;
      if (this.#pending.has(job)) return job;
    }
    await this.#sleep(waitMs);
    return this.#arrivals.shift();
  }

  /** The request for a job, waiting up to `waitMs` for it to arrive. */
  async waitFor(job: string, waitMs: number): Promise<Submission | undefined> {
    const deadline = performance.now() + waitMs;
    while (!this.#pending.has(job) && performance.now() < deadline) {
      await this.#sleep(deadline - performance.now());
    }
    return this.#pending.get(job);
  }

  forget(submission: Submission): void {
    if (this.#pending.get(submission.key) === submission) this.#pending.delete(submission.key);
    submission.release();
  }

  wake(): void {
    this.#wake?.();
  }

  track(client: MessageSocket): void {
    this.#clients.add(client);
  }

  untrack(client: MessageSocket): void {
    this.#clients.delete(client);
  }

  /** Tells every waiting request's client that its job will not run, and drops it. */
  failAll(message: string): void {
    for (const submission of this.#pending.values()) {
      submission.client.send({ type: "error", job: submission.request.job, message });
      this.forget(submission);
    }
    this.#arrivals.length = 0;
  }

  closeAll(): void {
    for (const client of this.#clients) client.close();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
