/**
 * The broker's market loop: slot after slot on the calendar it puts the slot on the board as `open`
 * once the slot before it is decided and its tariffs are known, has the nodes clear it at the gate
 * (or leaves it `uncleared`, with the reason, when they cannot or no tariff was published), closes its
 * metering and bills it at metering close, posts it, and closes each billing period after its last
 * slot — one step at a time, in slot order, every step stored before the next, so that a broker
 * restarted after a crash catches up from its store and does nothing twice. The clock, the store and
 * the steps on the nodes are injected: this module only schedules.
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { billingPeriodOf } from "../../billing/index.ts";
import { describeError } from "../../validation/index.ts";
import type { BoardEvent, BoardSlot, SlotPrices } from "./board.ts";
import type { SlotCalendar } from "./calendar.ts";
import type { BrokerStore, SlotRecord, SlotTariffs } from "./store.ts";

/** Wall time, and waiting for it. */
export interface MarketClock {
  /** Wall time, ms since the epoch. */
  now(): number;
  /** Resolves at wall time `wallMs`, or at once when `signal` aborts. */
  sleepUntil(wallMs: number, signal: AbortSignal): Promise<void>;
}

/** The longest single wait: a far-off time is waited for in steps (and timers hold at most ~24 days). */
const LONGEST_SLEEP_MS = 3_600_000;

/** The machine's clock. */
export const systemClock: MarketClock = {
  now: () => Date.now(),
  sleepUntil: (wallMs, signal) =>
    sleep(Math.min(Math.max(0, wallMs - Date.now()), LONGEST_SLEEP_MS), undefined, { signal }).catch(
      () => undefined,
    ),
};

export type ClearingFigures = NonNullable<BoardSlot["clearing"]>;
export type MeteringFigures = NonNullable<BoardSlot["metering"]>;
export type BillingFigures = NonNullable<BoardSlot["billing"]>;
export type Posting = NonNullable<BoardSlot["posting"]>;

/** The broker's acts on the nodes (and the ledger), each for one slot or period; each may throw. */
export interface MarketSteps {
  /** Clears the slot from the intents the nodes hold: its public figures. */
  clear(slot: string, prices: SlotPrices): Promise<ClearingFigures>;
  /** Closes the slot's metering: which meters reported. */
  closeMetering(slot: string): Promise<MeteringFigures>;
  /** Bills the slot from what the nodes keep: its public billing figures. */
  bill(slot: string, prices: SlotPrices): Promise<BillingFigures>;
  /** Closes a billing period (a UTC month, `YYYY-MM`) on the nodes. */
  closePeriod(period: string): Promise<void>;
  /** Posts the slot's signed result to the ledger; absent: the market does not post. */
  post?(slot: string): Promise<Posting>;
}

/**
 * A step the nodes had done already (the broker stopped before it stored their answer): the step is
 * done, and its figures are not to be had again.
 */
export class StepDone extends Error {
  override readonly name = "StepDone";
}

/** How long a failed billing-side step waits before it is tried again: doubling from `firstMs` to `maxMs`. */
export interface RetryPolicy {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** Where a service's events go: a pino logger, or a test's record. */
export interface ServiceLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface MarketOptions {
  readonly calendar: SlotCalendar;
  readonly store: BrokerStore;
  readonly steps: MarketSteps;
  readonly clock: MarketClock;
  readonly log: ServiceLog;
  /** Told of every change of the board, once stored. */
  readonly onEvent: (event: BoardEvent) => void;
  readonly retry?: RetryPolicy;
}

/** Why a slot is left to the supplier when its tariffs are missing at the gate. */
export function missingTariffReason(tariffs: SlotTariffs): string | undefined {
  const missing = [
    ...(tariffs.supplier === undefined ? ["the supplier published no tariff for this slot"] : []),
    ...(tariffs.network === undefined ? ["the DSO published no network fee for this slot"] : []),
  ];
  return missing.length === 0 ? undefined : missing.join("; ");
}

function pricesOf(tariffs: SlotTariffs): SlotPrices | undefined {
  const { supplier, network } = tariffs;
  return supplier === undefined || network === undefined
    ? undefined
    : { feedIn: supplier.feedIn, retail: supplier.retail, networkFee: network.networkFee };
}

/** What the loop does next, and from when. */
interface Action {
  /** Wall time from which it is due, ms. */
  readonly dueAtMs: number;
  /** Names it in logs and keys its retries. */
  readonly what: string;
  readonly run: () => Promise<void>;
}

const DEFAULT_RETRY: RetryPolicy = { firstMs: 1000, maxMs: 30_000 };

export class Market {
  readonly #options: MarketOptions;
  readonly #retry: RetryPolicy;
  /** The first slot not yet cleared or left uncleared. */
  #decided = 0;
  /** The first slot whose metering is not yet closed. */
  #metered = 0;
  /** The first slot whose billing (bill, posting, its period's close) is not yet done. */
  #billing = 0;
  /** Steps that failed, with their attempts so far and when they are tried again. */
  readonly #failed = new Map<string, { attempts: number; retryAtMs: number }>();
  #wake = new AbortController();

  constructor(options: MarketOptions) {
    this.#options = options;
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  /** Has the loop look at the board again now (tariffs were published); steps waiting to retry are tried at once. */
  wake(): void {
    for (const failed of this.#failed.values()) failed.retryAtMs = 0;
    this.#wake.abort();
  }

  /**
   * Runs the market until `signal` aborts (after the step in hand) or, with a slot count, until its
   * last slot is billed, posted and its period closed.
   * @throws when the store fails: the broker cannot keep its word, and stops.
   */
  async run(signal: AbortSignal): Promise<"finished" | "stopped"> {
    const progress = await this.#options.store.progress();
    this.#decided = progress.decided;
    this.#metered = progress.metered;
    // The slot before the first unbilled one may still have its period to close.
    this.#billing = Math.max(
      0,
      (this.#options.steps.post === undefined ? progress.billed : progress.posted) - 1,
    );
    const { clock } = this.#options;
    while (!signal.aborted) {
      // Made before the next action is chosen: a wake meanwhile cuts the coming sleep short.
      const wake = new AbortController();
      this.#wake = wake;
      const action = await this.#next();
      if (action === "finished") return "finished";
      if (action.dueAtMs > clock.now()) {
        await clock.sleepUntil(action.dueAtMs, AbortSignal.any([signal, wake.signal]));
        continue;
      }
      await action.run();
    }
    return "stopped";
  }

  /**
   * The earliest due of the three sides' next steps — clearing, metering, billing — the first of them
   * at a tie. Each side goes in slot order; the metering side follows the clearing side and the
   * billing side the metering side, so that a bill waiting (for tariffs, for the nodes) holds up no
   * clearing and no metering.
   */
  async #next(): Promise<Action | "finished"> {
    const billing = await this.#nextBilling();
    if (billing === "finished") return "finished";
    const candidates = [await this.#nextClearing(), await this.#nextMetering(), billing].filter(
      (action): action is Action => action !== undefined,
    );
    return candidates.reduce((earliest, action) => (action.dueAtMs < earliest.dueAtMs ? action : earliest));
  }

  async #nextClearing(): Promise<Action | undefined> {
    const { calendar, store } = this.#options;
    const index = this.#decided;
    if (calendar.isPastEnd(index)) return undefined;
    const record = await store.slot(index);
    const gate = calendar.wallAt(calendar.times(index).gateMs);
    if (record === null && pricesOf(await store.tariffs(index)) !== undefined)
      return { dueAtMs: 0, what: `open slot ${index}`, run: () => this.#open(index) };
    return this.#retried(`clear slot ${index}`, gate, () => this.#clear(index));
  }

  #nextMetering(): Action | undefined {
    const { calendar } = this.#options;
    const index = this.#metered;
    if (index >= this.#decided) return undefined;
    return this.#retried(
      `close the metering of slot ${index}`,
      calendar.wallAt(calendar.times(index).meteringCloseMs),
      () => this.#closeMetering(index),
    );
  }

  /** The billing side's next step; undefined while it waits for metering; finished after the last slot. */
  async #nextBilling(): Promise<Action | "finished" | undefined> {
    const { calendar, store, steps } = this.#options;
    for (;;) {
      const index = this.#billing;
      if (index >= this.#metered) return calendar.isPastEnd(index) ? "finished" : undefined;
      const record = (await store.slot(index)) as SlotRecord;
      const { slot, phase } = record.board;
      const period = billingPeriodOf(slot);
      if (phase !== "billed" && phase !== "posted")
        return this.#retried(`bill slot ${index}`, 0, () => this.#bill(record));
      if (steps.post !== undefined && phase !== "posted") {
        const post = steps.post;
        return this.#retried(`post slot ${index}`, 0, () => this.#post(index, post));
      }
      if (this.#endsPeriod(index) && !(await store.isPeriodClosed(period)))
        return this.#retried(`close billing period ${period}`, 0, () => this.#closePeriod(period));
      this.#billing = index + 1;
    }
  }

  /** Whether slot `index` is its billing period's last (or the market's last). */
  #endsPeriod(index: number): boolean {
    const { calendar } = this.#options;
    return (
      calendar.isPastEnd(index + 1) ||
      billingPeriodOf(calendar.times(index).slot) !== billingPeriodOf(calendar.times(index + 1).slot)
    );
  }

  /**
   * A step that may not be skipped, due from wall time `dueAtMs` or, after a failure, when its retry is;
   * a failure is logged and schedules the retry, after a wait that doubles with each attempt.
   */
  #retried(what: string, dueAtMs: number, run: () => Promise<void>): Action {
    const failed = this.#failed.get(what);
    return {
      dueAtMs: Math.max(dueAtMs, failed?.retryAtMs ?? 0),
      what,
      run: async () => {
        try {
          await run();
          this.#failed.delete(what);
        } catch (error) {
          const attempts = (failed?.attempts ?? 0) + 1;
          const waitMs = Math.min(this.#retry.firstMs * 2 ** (attempts - 1), this.#retry.maxMs);
          this.#failed.set(what, { attempts, retryAtMs: this.#options.clock.now() + waitMs });
          this.#options.log.warn(
            { attempts, retryInMs: waitMs, reason: describeError(error) },
            `could not ${what}; trying again`,
          );
        }
      },
    };
  }

  /** Changes a slot of the board (see {@link BrokerStore.update}); @returns it as changed, or null when left. */
  async #save(index: number, change: Parameters<BrokerStore["update"]>[1]): Promise<BoardSlot | null> {
    const event = await this.#options.store.update(index, change);
    if (event === undefined) return null;
    this.#options.onEvent(event);
    return event.slot;
  }

  async #open(index: number): Promise<void> {
    const times = this.#options.calendar.times(index);
    const opened = await this.#save(index, (current, tariffs) => {
      const prices = pricesOf(tariffs);
      if (current !== null || prices === undefined) return undefined;
      const zoneLimits = tariffs.network?.zoneLimits;
      return {
        board: {
          index,
          slot: times.slot,
          phase: "open",
          gateAt: new Date(times.gateMs).toISOString(),
          meteringCloseAt: new Date(times.meteringCloseMs).toISOString(),
          prices,
          ...(zoneLimits === undefined ? {} : { zoneLimits: [...zoneLimits] }),
        },
        meteringClosed: false,
      };
    });
    if (opened !== null) this.#options.log.info({ slot: times.slot, prices: opened.prices }, "slot open");
  }

  /**
   * At the gate: the nodes clear the slot, or it is left to the supplier with the reason — when no
   * tariff was published, or the nodes still fail on it when the slot starts.
   */
  async #clear(index: number): Promise<void> {
    const { calendar, store, steps, log } = this.#options;
    const times = calendar.times(index);
    const record = await store.slot(index);
    let outcome: Pick<BoardSlot, "phase" | "clearing" | "uncleared">;
    if (record === null || record.board.prices === undefined) {
      outcome = { phase: "uncleared", uncleared: "the slot was not open before its gate" };
    } else {
      try {
        outcome = { phase: "cleared", clearing: await steps.clear(times.slot, record.board.prices) };
      } catch (error) {
        if (error instanceof StepDone) {
          log.warn({ slot: times.slot, reason: error.message }, "the nodes had cleared the slot already");
          outcome = { phase: "cleared" };
        } else {
          // Tried again until the slot starts (a node that restarts may be back); then it is the supplier's.
          if (this.#options.clock.now() < calendar.wallAt(times.startMs)) throw error;
          outcome = {
            phase: "uncleared",
            uncleared: `the nodes could not clear it: ${describeError(error)}`,
          };
        }
      }
    }
    await this.#save(index, (current, tariffs) => {
      if (current !== null && current.board.phase !== "open") return undefined;
      const uncleared =
        current === null ? (missingTariffReason(tariffs) ?? outcome.uncleared) : outcome.uncleared;
      return {
        board: {
          ...(current?.board ?? {
            index,
            slot: times.slot,
            gateAt: new Date(times.gateMs).toISOString(),
            meteringCloseAt: new Date(times.meteringCloseMs).toISOString(),
          }),
          phase: outcome.phase,
          ...(outcome.clearing === undefined ? {} : { clearing: outcome.clearing }),
          ...(uncleared === undefined ? {} : { uncleared }),
        },
        meteringClosed: false,
      };
    });
    this.#decided = index + 1;
    if (outcome.phase === "cleared")
      log.info({ slot: times.slot, clearing: outcome.clearing }, "slot cleared");
    else log.warn({ slot: times.slot, reason: outcome.uncleared }, "slot left to the supplier");
  }

  async #closeMetering(index: number): Promise<void> {
    const { calendar, steps, log } = this.#options;
    const { slot } = calendar.times(index);
    let metering: MeteringFigures | undefined;
    try {
      metering = await steps.closeMetering(slot);
    } catch (error) {
      if (!(error instanceof StepDone)) throw error;
      log.warn({ slot, reason: error.message }, "the nodes had closed the slot's metering already");
    }
    await this.#save(index, (current) =>
      current === null
        ? undefined
        : {
            board: { ...current.board, ...(metering === undefined ? {} : { metering }) },
            meteringClosed: true,
          },
    );
    this.#metered = index + 1;
    log.info(
      {
        slot,
        reported: metering?.reported,
        missing: metering?.missing.length,
        implausible: metering?.implausible.length,
      },
      "metering closed",
    );
  }

  async #bill(record: SlotRecord): Promise<void> {
    const { steps, log } = this.#options;
    const { index, slot } = record.board;
    let prices = record.board.prices;
    if (prices === undefined) {
      // A slot left uncleared for want of tariffs is billed with those published since.
      const priced = await this.#save(index, (current, tariffs) => {
        const late = pricesOf(tariffs);
        return current === null || late === undefined
          ? undefined
          : { ...current, board: { ...current.board, prices: late } };
      });
      prices = priced?.prices;
      if (prices === undefined)
        throw new Error(`slot ${slot} cannot be billed before its tariffs are published`);
    }
    let billing: BillingFigures | undefined;
    try {
      billing = await steps.bill(slot, prices);
    } catch (error) {
      if (!(error instanceof StepDone)) throw error;
      log.warn({ slot, reason: error.message }, "the nodes had billed the slot already");
    }
    await this.#save(index, (current) =>
      current === null
        ? undefined
        : {
            ...current,
            board: { ...current.board, phase: "billed", ...(billing === undefined ? {} : { billing }) },
          },
    );
    log.info({ slot, billing }, "slot billed");
  }

  async #post(index: number, post: NonNullable<MarketSteps["post"]>): Promise<void> {
    const { slot } = this.#options.calendar.times(index);
    const posting = await post(slot);
    await this.#save(index, (current) =>
      current === null ? undefined : { ...current, board: { ...current.board, phase: "posted", posting } },
    );
    this.#options.log.info({ slot, posting }, "slot posted");
  }

  async #closePeriod(period: string): Promise<void> {
    await this.#options.steps.closePeriod(period);
    await this.#options.store.closePeriod(period);
    this.#options.log.info({ period }, "billing period closed");
  }
}
