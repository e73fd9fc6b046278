/**
 * One home's device on the live market, slot after slot as the board moves: once slot T is open it
 * plans T with the board's tariffs and sends its signed intent to the nodes (every slot, a null intent
 * when it does not trade); once T is cleared it learns its commitments (the nodes' reply, or what they
 * keep after a restart), or, when T is left to the suppliers, its supplier-only commitments; its
 * simulated home publishes the meter's reading when T ends; once T is billed it fetches its own bill
 * and keeps its record of T. Each step is kept before the next depends on it, so a restarted device
 * resumes where it stopped: no intent sent twice, no slot lost or recorded twice. A failure waits and
 * tries again; it never touches another home.
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import { estimatedReading } from "../../billing/index.ts";
import { stageCommitments } from "../../market/index.ts";
import type { Signer } from "../../private/keys.ts";
import type { Registry } from "../../private/registry.ts";
import { uncleared } from "../../sim/mpc-engines.ts";
import { OperationalError } from "../../system/errors.ts";
import { describeError } from "../../validation/index.ts";
import type { BoardSlot, SlotPrices } from "../broker/board.ts";
import type { SlotCalendar, SlotTimes } from "../broker/calendar.ts";
import type { MeterBus } from "./bus.ts";
import { ownSlotBills, slotBillOf } from "./figures.ts";
import {
  fetchCommitments,
  type HeldIntent,
  type HouseholdSlotOutcome,
  NoCommitments,
  submitIntent,
} from "./intent.ts";
import type { HomeModel, PlannedSlot } from "./model.ts";
import { type NodeLink, NodesUnreachable } from "./nodes.ts";
import type { KeptChange, KeptSlot, KeptWriter, OwnSlotRecord, SlotFigures, SlotLearned } from "./records.ts";

/** The wall clock, and waiting on it (tests give their own). */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/** The board as the homes read it: each slot's latest state. */
export interface BoardView {
  get(index: number): BoardSlot | undefined;
}

/** A step a home has done and kept (the reading: published), for tests and the health endpoint. */
export interface HomeStep {
  readonly household: string;
  readonly index: number;
  readonly step: "planned" | "sent" | "learned" | "published" | "recorded";
}

/** What a home's device works with; the nodes' connection, the store's writer and the bus are shared by a process's homes. */
export interface HomePorts {
  readonly calendar: SlotCalendar;
  readonly board: BoardView;
  readonly nodes: NodeLink;
  /** The nodes' registry: the intent's layout. */
  readonly registry: Registry;
  readonly signer: Signer;
  readonly meterId: string;
  readonly writer: KeptWriter;
  readonly bus: MeterBus;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onStep?: (step: HomeStep) => void;
}

/** A home's progress, for the health endpoint. */
export interface HomeStatus {
  readonly id: string;
  /** The next slot it plans. */
  readonly nextSlot: number;
  /** Slots recorded (since the first start), intents sent and refused, slots left to the supplier (since this start). */
  readonly recorded: number;
  readonly sent: number;
  readonly refused: number;
  readonly supplierOnly: number;
  readonly published: number;
  /** Why it is waiting to try again, when it is. */
  readonly problem?: string;
}

/** A slot between its planning and its record. */
interface LiveSlot {
  readonly index: number;
  readonly slot: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly prices: SlotPrices;
  readonly planned: PlannedSlot;
  sent: boolean;
  /** The intent the nodes hold, sent in this process's life: its reply carries the commitments. */
  held?: HeldIntent;
  learned?: SlotLearned;
  /** Whether its reading is still to be published (or found too late). */
  readingDue: boolean;
}

/** A slot in hand: its calendar times, the tariffs it is planned with, its plan and how far it got. */
function liveSlotOf(
  times: SlotTimes,
  prices: SlotPrices,
  planned: PlannedSlot,
  state: Pick<LiveSlot, "sent" | "readingDue">,
): LiveSlot {
  const { index, slot, startMs, endMs } = times;
  return { index, slot, startMs, endMs, prices, planned, ...state };
}

/** The nodes keep no bill of a billed slot yet: the home asks again later. */
class BillNotYet extends Error {}

/** The home cannot go on (its agent failed): it waits for its device to be restarted. */
class HomeFailed extends Error {}

/** Waits before trying again: from the first to the longest wait, doubling, ms. */
const FIRST_RETRY_MS = 250;
const LONGEST_RETRY_MS = 5_000;

export class Home {
  readonly id: string;
  #next = 0;
  /** The slot planned and not learned yet (a home plans T+1 only once it learned T). */
  #pending: LiveSlot | undefined;
  /** Slots learned and not recorded yet, in slot order. */
  #unbilled: LiveSlot[] = [];
  /** Steps done but not kept yet, in order: kept before any further step, then told. */
  #unkept: { readonly change: KeptChange; readonly step: HomeStep["step"] }[] = [];
  #running: Promise<void> | undefined;
  #again = false;
  #retrying = false;
  #attempt = 0;
  #problem: string | undefined;
  /** Why the home cannot go on until its device is restarted. */
  #failed: string | undefined;
  readonly #stopping = new AbortController();
  readonly #counts = { recorded: 0, sent: 0, refused: 0, supplierOnly: 0, published: 0 };

  constructor(
    private readonly model: HomeModel,
    private readonly ports: HomePorts,
  ) {
    this.id = model.id;
  }

  /**
   * Replays the kept slots through the model (in order, from the first), so that the agent, the
   * forecasts and the outlook are as they were; the slot not learned yet becomes the one in hand.
   * @throws {@link OperationalError} when the kept slots are not this market's, or the model plans another intent
   * than the one kept (the scenario, seed or agents differ from the run's).
   */
  async restore(kept: readonly KeptSlot[]): Promise<void> {
    for (const row of kept) {
      const times = this.ports.calendar.times(this.#next);
      if (row.index !== this.#next || this.#pending !== undefined || row.slot !== times.slot)
        throw new OperationalError(
          `household ${this.id} keeps slot ${row.index} (${row.slot}) where it expects ${this.#pending === undefined ? `slot ${times.index} (${times.slot})` : "no slot before it has learned its last"}: its records are not of this market`,
        );
      const planned = await this.model.plan(row.index, times.startMs, row.prices);
      if (!isDeepStrictEqual(planned.intent, row.intent))
        throw new OperationalError(
          `household ${this.id} plans slot ${row.index} otherwise than it did: the scenario, seed or agents are not those it ran with`,
        );
      this.#next++;
      const live = liveSlotOf(times, row.prices, planned, {
        sent: row.sent,
        readingDue: row.record === null,
      });
      if (row.learned === null) {
        this.#pending = live;
        continue;
      }
      this.model.observe(times.startMs, planned, row.learned);
      live.learned = row.learned;
      if (row.record === null) this.#unbilled.push(live);
      else this.#counts.recorded++;
    }
  }

  /** The board changed (or a wait is over): do what is due, unless it is being done or waits to try again. */
  poke(): void {
    if (this.#stopping.signal.aborted || this.#retrying || this.#failed !== undefined) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#running = this.#advance().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.poke();
      }
    });
  }

  /** The lowest slot the home still needs from the board. */
  get lowestNeeded(): number {
    return Math.min(this.#unbilled[0]?.index ?? this.#next, this.#pending?.index ?? this.#next, this.#next);
  }

  status(): HomeStatus {
    return {
      id: this.id,
      nextSlot: this.#next,
      ...this.#counts,
      ...(this.#problem === undefined ? {} : { problem: this.#problem }),
    };
  }

  /**
   * Finishes the step in hand and keeps what it did; readings not yet due are not published (once
   * started again, the device publishes those whose slot is not billed yet).
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#running;
  }

  async #advance(): Promise<void> {
    try {
      // What a step did is kept before the next step, and before the device stops.
      do await this.#keepDone();
      while (!this.#stopping.signal.aborted && (await this.#step()));
      this.#attempt = 0;
      if (this.#problem !== undefined) this.ports.log.info({ household: this.id }, "going on");
      this.#problem = undefined;
    } catch (error) {
      if (error instanceof HomeFailed) this.#problem = error.message;
      else this.#waitToRetry(error);
    }
  }

  /** Keeps the steps done, in order, and tells of each. */
  async #keepDone(): Promise<void> {
    for (let done = this.#unkept[0]; done !== undefined; done = this.#unkept[0]) {
      await this.ports.writer.write(done.change);
      this.#unkept.shift();
      this.ports.onStep?.({ household: this.id, index: done.change.index, step: done.step });
    }
  }

  /** Does the next step due; false when nothing is. */
  async #step(): Promise<boolean> {
    this.#scheduleReadings();
    const { board } = this.ports;
    const pending = this.#pending;
    if (pending === undefined) {
      const slot = board.get(this.#next);
      // A slot whose tariffs are not published yet waits for them: a household plans with them.
      if (slot?.prices !== undefined) {
        await this.#plan(slot, slot.prices);
        return true;
      }
    } else {
      const slot = board.get(pending.index);
      if (slot?.phase === "open" && !pending.sent) {
        await this.#send(pending);
        return true;
      }
      if (slot !== undefined && slot.phase !== "open") {
        await this.#learn(pending, slot);
        return true;
      }
    }
    const billed = this.#unbilled.filter((live) => isBilled(board.get(live.index)));
    if (billed.length === 0) return false;
    await this.#record(billed);
    return true;
  }

  async #plan(slot: BoardSlot, prices: SlotPrices): Promise<void> {
    const times = this.ports.calendar.times(slot.index);
    let planned: PlannedSlot;
    try {
      planned = await this.model.plan(slot.index, times.startMs, prices);
    } catch (error) {
      // Its agent and forecasts moved on into the slot: planning it again would plan another.
      this.#failed = `its agent could not plan slot ${slot.index} (${describeError(error)}); restart it to go on`;
      this.ports.log.error({ household: this.id }, this.#failed);
      throw new HomeFailed(this.#failed);
    }
    this.#next++;
    this.#pending = liveSlotOf(times, prices, planned, { sent: false, readingDue: true });
    // Kept before it is sent: a restarted device knows the slot is planned, and whether it was sent.
    this.#keep(
      {
        kind: "planned",
        household: this.id,
        index: slot.index,
        slot: slot.slot,
        prices,
        intent: planned.intent,
      },
      "planned",
    );
  }

  /** Sends the intent (a null intent too: every household sends one every slot). */
  async #send(live: LiveSlot): Promise<void> {
    const { nodes, registry, signer, log } = this.ports;
    try {
      live.held = await nodes.use((client) =>
        submitIntent(client, registry, live.slot, live.planned.intent, signer),
      );
      this.#counts.sent++;
    } catch (error) {
      // The nodes cannot be reached: sent again while the slot is open. Refused: never sent again.
      if (error instanceof NodesUnreachable) throw error;
      this.#counts.refused++;
      log.warn(
        { household: this.id, slot: live.slot },
        `the nodes refused the intent: ${describeError(error)}`,
      );
    }
    live.sent = true;
    this.#keep({ kind: "sent", household: this.id, index: live.index }, "sent");
  }

  /** What the slot gave the household: its commitments when cleared, its supplier's when not. */
  async #learn(live: LiveSlot, slot: BoardSlot): Promise<void> {
    const { intent } = live.planned;
    let learned: SlotLearned;
    if (slot.clearing === undefined) {
      // Left to the suppliers: the household's whole (capped) volume goes to its supplier.
      const outcome = uncleared({ slot: live.slot, prices: live.prices, households: [intent] });
      const order = outcome.orders[0];
      learned = {
        figures: figuresOf(outcome.community),
        order:
          order === undefined
            ? null
            : { side: order.side, volumeWh: order.volumeWh, limitPrice: order.limitPrice },
        committed: (outcome.commitments[0] as (typeof outcome.commitments)[number]).committed,
      };
    } else {
      const figures = figuresOf(slot.clearing);
      const outcome = await this.#commitments(live);
      if (outcome === null) {
        // Its intent did not count (not sent in time, refused or left out): it deals with its supplier.
        this.#counts.supplierOnly++;
        const cappedWh = Math.min(intent.volumeWh, intent.connectionCapWh ?? intent.volumeWh);
        learned = {
          figures,
          order: null,
          committed: stageCommitments(intent.side, 0, cappedWh, [], undefined),
        };
      } else
        learned = {
          figures,
          order:
            outcome.communityOrderWh > 0
              ? { side: intent.side, volumeWh: outcome.communityOrderWh, limitPrice: intent.limitPrice }
              : null,
          committed: outcome.committed,
        };
    }
    live.learned = learned;
    this.model.observe(live.startMs, live.planned, learned);
    this.#pending = undefined;
    this.#unbilled.push(live);
    this.#keep({ kind: "learned", household: this.id, index: live.index, learned }, "learned");
  }

  /** Its commitments from the reply to its intent, else from what the nodes keep; null when they keep none. */
  async #commitments(live: LiveSlot): Promise<HouseholdSlotOutcome | null> {
    if (live.held !== undefined) {
      try {
        return await live.held.commitments;
      } catch {
        // Left out, or the connection broke before the reply: what the nodes keep says which.
        delete live.held;
      }
    }
    const { nodes, registry, signer } = this.ports;
    try {
      return await nodes.use((client) =>
        fetchCommitments(client, registry, live.slot, live.planned.intent, signer),
      );
    } catch (error) {
      if (error instanceof NoCommitments) return null;
      throw error;
    }
  }

  /** Fetches its own bills of the billed slots and keeps their records. */
  async #record(billed: readonly LiveSlot[]): Promise<void> {
    const { nodes, signer, board, meterId } = this.ports;
    const rows = await nodes.use((client) =>
      ownSlotBills(
        client,
        billed.map((live) => live.slot),
        signer,
      ),
    );
    const waiting: string[] = [];
    billed.forEach((live, t) => {
      const row = rows[t];
      if (row === null || row === undefined) {
        waiting.push(live.slot);
        return;
      }
      const estimated = isEstimated(board.get(live.index) as BoardSlot, meterId);
      this.#unbilled.splice(this.#unbilled.indexOf(live), 1);
      this.#keep(
        {
          kind: "recorded",
          household: this.id,
          index: live.index,
          record: this.#recordOf(live, row, estimated),
        },
        "recorded",
      );
      this.#counts.recorded++;
    });
    if (waiting.length === billed.length)
      throw new BillNotYet(
        `the nodes keep no bill of slot ${waiting.join(", ")} yet, though the board says billed`,
      );
  }

  /** Its record of a billed slot, as `simulateSlot` records it: a reading the meter did not give (or that was refused) is the estimate it was billed at. */
  #recordOf(live: LiveSlot, words: BigUint64Array, estimated: boolean): OwnSlotRecord {
    const { figures, order, committed } = live.learned as SlotLearned;
    return {
      index: live.index,
      slot: live.slot,
      prices: live.prices,
      ...figures,
      own: {
        id: this.id,
        order,
        committed,
        metered: estimated ? estimatedReading(committed) : live.planned.reading,
        bill: slotBillOf(this.id, words, committed, {
          prices: live.prices,
          clearingPrice: figures.clearingPrice,
        }),
      },
    };
  }

  /** A step done: kept before the next. */
  #keep(change: KeptChange, step: HomeStep["step"]): void {
    this.#unkept.push({ change, step });
  }

  /** Publishes each slot's reading when the slot ends, while its metering is open. */
  #scheduleReadings(): void {
    for (const live of [...this.#unbilled, ...(this.#pending === undefined ? [] : [this.#pending])]) {
      // Once the board shows the slot: a restarted device does not publish what it cannot know is due.
      if (!live.readingDue || this.ports.board.get(live.index) === undefined) continue;
      live.readingDue = false;
      void this.#publish(live);
    }
  }

  async #publish(live: LiveSlot): Promise<void> {
    const { clock, calendar, board, bus, meterId, log } = this.ports;
    try {
      await clock.sleep(Math.max(0, calendar.wallAt(live.endMs) - clock.now()), this.#stopping.signal);
    } catch {
      return;
    }
    // Too late once billed (or recorded, and forgotten by the board view).
    const inHand = this.#pending === live || this.#unbilled.includes(live);
    if (!inHand || isBilled(board.get(live.index))) return;
    try {
      await bus.publish(meterId, { slot: live.slot, ...live.planned.reading });
      this.#counts.published++;
      this.ports.onStep?.({ household: this.id, index: live.index, step: "published" });
    } catch (error) {
      log.warn(
        { household: this.id, slot: live.slot },
        `its reading was not published: ${describeError(error)}`,
      );
    }
  }

  #waitToRetry(error: unknown): void {
    const waitMs = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#attempt++);
    const problem = describeError(error);
    // The nodes' connection says once for all homes that it is down; a home says what else holds it up.
    if (problem !== this.#problem && !(error instanceof NodesUnreachable))
      this.ports.log.warn({ household: this.id, retryInMs: waitMs }, `${problem}; trying again`);
    this.#problem = problem;
    this.#retrying = true;
    this.ports.clock.sleep(waitMs, this.#stopping.signal).then(
      () => {
        this.#retrying = false;
        this.poke();
      },
      () => undefined,
    );
  }
}

/** Whether the slot's metering is closed and it is billed. */
function isBilled(slot: BoardSlot | undefined): boolean {
  return slot?.phase === "billed" || slot?.phase === "posted";
}

/** Whether the meter's reading of the billed slot is missing or was refused, so it was billed at the estimate. */
function isEstimated(slot: BoardSlot, meterId: string): boolean {
  const metering = slot.metering;
  return (
    metering !== undefined &&
    (metering.missing.includes(meterId) || metering.implausible.some(({ meter }) => meter === meterId))
  );
}

/** The slot's public figures as a record keeps them (no zones unless the slot has them). */
function figuresOf(community: {
  readonly clearingPrice: number | null;
  readonly volumeWh: number;
  readonly zones?: SlotFigures["zones"];
}): SlotFigures {
  return {
    clearingPrice: community.clearingPrice,
    communityVolumeWh: community.volumeWh,
    ...(community.zones === undefined ? {} : { zones: community.zones }),
  };
}
