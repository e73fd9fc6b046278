/**
 * Sends a meter service's buffered readings to the three nodes and settles each in the buffer: once
 * all three hold it (delivered), once its slot's metering is closed on a node (late), or once the
 * nodes still refuse it a slot's length after its metering should have closed (refused). While the
 * nodes cannot be reached it dials them again with a growing pause, and a reading a node refused
 * for a passing reason is sent again the same way; nothing leaves the buffer unsettled.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { describeError } from "../../validation/index.ts";
import type { SlotCalendar } from "../broker/calendar.ts";
import type { NodeClient } from "../mpc-node/client.ts";
import type { MeterBuffer } from "./buffer.ts";
import type { MeterReading } from "./bus.ts";
import { deliverReading, type NodeAnswer } from "./readings.ts";

export interface SenderOptions {
  /** Dials the three nodes. */
  readonly connect: () => Promise<NodeClient>;
  /** The signing key of a meter this service hosts. */
  readonly keyOf: (meter: string) => KeyObject;
  readonly buffer: MeterBuffer;
  readonly calendar: SlotCalendar;
  readonly logger: Logger;
  /** How long a reading waits for the three nodes' answers before the connection is taken as lost, ms. */
  readonly answerTimeoutMs: number;
  /** Readings in flight at once. */
  readonly concurrency?: number;
  /** The first and the longest pause between two tries, ms. */
  readonly retryMs?: { readonly first: number; readonly most: number };
  /** Wall clock, ms since the epoch. */
  readonly now?: () => number;
}

/** A reading waiting to be sent, and how often it was tried. */
interface Attempt {
  readonly reading: MeterReading;
  readonly tries: number;
  /** The reason a node gave last, to log a refusal once, not at every try. */
  readonly lastRefusal?: string;
}

const DEFAULT_CONCURRENCY = 64;
const DEFAULT_RETRY_MS = { first: 250, most: 10_000 };

export class ReadingSender {
  readonly #options: SenderOptions;
  readonly #retryMs: { readonly first: number; readonly most: number };
  readonly #now: () => number;
  readonly #queue: Attempt[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  #client: NodeClient | undefined;
  #connecting: Promise<NodeClient> | undefined;
  #nodesUp: boolean | undefined;
  #connectTries = 0;

  constructor(options: SenderOptions) {
    this.#options = options;
    this.#retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Whether the last dial or send reached the nodes (undefined before the first). */
  get nodesUp(): boolean | undefined {
    return this.#nodesUp;
  }

  /** Readings waiting for a try or in flight. */
  get backlog(): number {
    return this.#queue.length + this.#timers.size + this.#running.size;
  }

  /** Sends a reading the buffer has taken. */
  send(reading: MeterReading): void {
    this.#enqueue({ reading, tries: 0 });
  }

  /** Stops sending; what is unsettled stays in the buffer for the next run. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#client?.close();
    this.#client = undefined;
    await Promise.all(this.#running);
  }

  #enqueue(attempt: Attempt): void {
    if (this.#stopping.signal.aborted) return;
    this.#queue.push(attempt);
    this.#pump();
  }

  #pump(): void {
    const concurrency = this.#options.concurrency ?? DEFAULT_CONCURRENCY;
    while (this.#running.size < concurrency && this.#queue.length > 0) {
      const attempt = this.#queue.shift() as Attempt;
      const running = this.#try(attempt)
        .catch((error: unknown) =>
          // Only the buffer's journal can fail here: the reading stays pending, and is sent again next run.
          this.#options.logger.error(
            { meter: attempt.reading.meter, slot: attempt.reading.slot, reason: describeError(error) },
            "cannot settle the reading in the buffer",
          ),
        )
        .finally(() => {
          this.#running.delete(running);
          this.#pump();
        });
      this.#running.add(running);
    }
  }

  #later(attempt: Attempt): void {
    if (this.#stopping.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#enqueue(attempt);
    }, this.#pause(attempt.tries));
    this.#timers.add(timer);
  }

  #pause(tries: number): number {
    return Math.min(this.#retryMs.most, this.#retryMs.first * 2 ** Math.min(tries, 20));
  }

  async #try(attempt: Attempt): Promise<void> {
    const { reading } = attempt;
    const { logger } = this.#options;
    let client: NodeClient;
    try {
      client = await this.#connected();
    } catch {
      return; // stopping
    }
    let answers: NodeAnswer[];
    try {
      answers = await this.#answers(client, reading);
    } catch (error) {
      if (this.#stopping.signal.aborted) return;
      this.#lose(client, describeError(error));
      this.#later({ ...attempt, tries: attempt.tries + 1 });
      return;
    }
    this.#connectTries = 0;
    const where = { meter: reading.meter, slot: reading.slot };
    if (answers.some((answer) => "closed" in answer)) {
      logger.warn(
        { ...where, nodesHolding: answers.filter((answer) => "held" in answer).length },
        "the reading came late: its slot's metering is closed; the slot is billed at the commitment",
      );
      await this.#options.buffer.settle(reading, "late");
      return;
    }
    const refusals = answers.flatMap((answer, party) =>
      "refused" in answer ? [`node ${party}: ${answer.refused}`] : [],
    );
    if (refusals.length === 0) {
      logger.info(where, "delivered");
      await this.#options.buffer.settle(reading, "delivered");
      return;
    }
    const reason = refusals.join("; ");
    if (this.#tooLateToRetry(reading.slot)) {
      logger.error(
        { ...where, reason },
        "the nodes refuse the reading after its slot's metering closed: dropped",
      );
      await this.#options.buffer.settle(reading, "refused");
      return;
    }
    if (reason !== attempt.lastRefusal)
      logger.warn({ ...where, reason }, "the nodes refused the reading: trying again");
    this.#later({ reading, tries: attempt.tries + 1, lastRefusal: reason });
  }

  /** The three nodes' answers, or an error when they do not come within the timeout. */
  #answers(client: NodeClient, reading: MeterReading): Promise<NodeAnswer[]> {
    const { answerTimeoutMs, keyOf } = this.#options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the nodes did not answer within ${answerTimeoutMs} ms`)),
        answerTimeoutMs,
      );
    });
    return Promise.race([
      deliverReading(client, { id: reading.meter, key: keyOf(reading.meter) }, reading.slot, reading),
      timeout,
    ]).finally(() => clearTimeout(timer));
  }

  /** Whether a slot's length has passed since its metering closed: the nodes have closed it, or never will take it. */
  #tooLateToRetry(slot: string): boolean {
    const { calendar } = this.#options;
    const index = calendar.indexOf(slot);
    if (index === null) return true;
    return this.#now() > calendar.wallAt(calendar.times(index).meteringCloseMs + calendar.slotMs);
  }

  /** The connection to the nodes, dialled again (after a pause that grows with each failure) when lost. */
  #connected(): Promise<NodeClient> {
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    this.#connecting ??= this.#dial().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #dial(): Promise<NodeClient> {
    const { logger } = this.#options;
    const signal = this.#stopping.signal;
    for (;;) {
      if (this.#connectTries > 0) await sleep(this.#pause(this.#connectTries - 1), undefined, { signal });
      signal.throwIfAborted();
      try {
        const client = await this.#options.connect();
        if (signal.aborted) {
          client.close();
          signal.throwIfAborted();
        }
        if (this.#nodesUp !== true) logger.info("the nodes are reachable");
        this.#nodesUp = true;
        this.#client = client;
        return client;
      } catch (error) {
        signal.throwIfAborted();
        if (this.#nodesUp !== false)
          logger.warn(
            { reason: describeError(error) },
            "the nodes cannot be reached: readings stay buffered",
          );
        this.#nodesUp = false;
        this.#connectTries += 1;
      }
    }
  }

  /** Drops a connection that failed (once, whichever of its readings noticed first). */
  #lose(client: NodeClient, reason: string): void {
    if (this.#client !== client) return;
    this.#connectTries += 1;
    this.#client = undefined;
    client.close();
    this.#nodesUp = false;
    this.#options.logger.warn({ reason }, "lost the nodes: readings stay buffered and are sent again");
  }
}
