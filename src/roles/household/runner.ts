/**
 * The homes of one household process (one home, or `--many`), driven by the broker's live updates:
 * every change of the board wakes every home, which does what is due for it. At start each home
 * resumes from its own records (replayed through its agent, as a resumed simulation replays its
 * stored slots), then follows the board from its first event. The homes share the process's
 * connections (broker, nodes, store, home bus), never their keys or state.
 * @module
 */
import type { Logger } from "pino";
import type { Signer } from "../../private/keys.ts";
import type { Registry } from "../../private/registry.ts";
import type { AgentSetup } from "../../sim/community.ts";
import type { Scenario, ScenarioHousehold } from "../../sim/scenario.ts";
import { OperationalError } from "../../system/errors.ts";
import { describeError } from "../../validation/index.ts";
import type { BoardEvent, BoardSlot, Calendar } from "../broker/board.ts";
import { SlotCalendar } from "../broker/calendar.ts";
import { BrokerError } from "../broker/client.ts";
import { whenReachable } from "../service.ts";
import type { MeterBus } from "./bus.ts";
import { type Clock, Home, type HomeStatus, type HomeStep, systemClock } from "./home.ts";
import { HomeModel } from "./model.ts";
import type { NodeLink } from "./nodes.ts";
import { type HouseholdRecords, KeptWriter } from "./records.ts";

/** The broker as the homes follow it (a BrokerClient, or a test's board). */
export interface BoardSource {
  calendar(): Promise<Calendar>;
  /** The board's changes after event `after` (from the first without it), until `signal` aborts. */
  events(options: { after?: number; signal: AbortSignal }): AsyncIterable<BoardEvent>;
}

export interface RunnerOptions {
  readonly scenario: Scenario;
  /** The households this process runs, each registered with the nodes and with its signer. */
  readonly households: readonly ScenarioHousehold[];
  readonly seed: number;
  readonly agents: AgentSetup;
  readonly board: BoardSource;
  readonly nodes: NodeLink;
  readonly registry: Registry;
  readonly signers: ReadonlyMap<string, Signer>;
  readonly records: HouseholdRecords;
  readonly bus: MeterBus;
  readonly clock?: Clock;
  readonly log: Logger;
  /** Told of every step a home kept (tests). */
  readonly onStep?: (step: HomeStep) => void;
}

/** What the health endpoint shows of the process's homes. */
export interface RunnerStatus {
  readonly status: "ok" | "degraded";
  readonly homes: number;
  /** Homes waiting to try again after a failure. */
  readonly retrying: number;
  readonly nodesConnected: boolean;
  /** The last board event received, -1 before the first. */
  readonly lastEvent: number;
  /** Over all homes: slots recorded, intents sent and refused, slots left to the supplier, readings published. */
  readonly slots: Readonly<Record<"recorded" | "sent" | "refused" | "supplierOnly" | "published", number>>;
}

/** Waits before following the board's live updates again after they stopped, ms. */
const REFOLLOW_MS = 500;

export class HouseholdRunner {
  readonly calendar: SlotCalendar;
  readonly #homes: readonly Home[];
  readonly #view = new Map<number, BoardSlot>();
  readonly #writer: KeptWriter;
  readonly #clock: Clock;
  readonly #stopping = new AbortController();
  #lastEvent = -1;

  private constructor(
    private readonly options: RunnerOptions,
    settings: Calendar,
  ) {
    this.calendar = SlotCalendar.from(settings);
    this.#clock = options.clock ?? systemClock;
    this.#writer = new KeptWriter(options.records);
    // The homes live on the market's slots: its first slot starts their forecasts and outlook.
    const grid = {
      startMs: settings.originMs,
      // The scenario's slot length: start refuses a market of another.
      slotMinutes: options.scenario.slotMinutes,
      slotCount: settings.slots ?? Number.MAX_SAFE_INTEGER,
    };
    const board = { get: (index: number) => this.#view.get(index) };
    this.#homes = options.households.map(
      (household) =>
        new Home(
          new HomeModel({
            scenario: options.scenario,
            household,
            seed: options.seed,
            agents: options.agents,
            grid,
          }),
          {
            calendar: this.calendar,
            board,
            nodes: options.nodes,
            registry: options.registry,
            signer: options.signers.get(household.id) as Signer,
            meterId: options.registry.meterOf.get(household.id) as string,
            writer: this.#writer,
            bus: options.bus,
            clock: this.#clock,
            log: options.log,
            ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
          },
        ),
    );
  }

  /**
   * Reads the market's calendar (waiting for the broker while it cannot be reached, until `signal`
   * aborts) and resumes each home from its records.
   * @throws {@link OperationalError} when the broker refuses, its slots are not the scenario's length,
   * or a home's records are not of this market or run.
   */
  static async start(
    options: RunnerOptions,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<HouseholdRunner> {
    const settings = await whenReachable("the broker", () => options.board.calendar(), {
      logger: options.log,
      signal,
      // Only a broker that cannot be reached is waited for; one that refuses says why.
      transient: (error) => error instanceof BrokerError && error.status === 0,
    }).catch((error: unknown) => {
      if (error instanceof BrokerError) throw new OperationalError(error.message, { cause: error });
      throw error;
    });
    if (settings.slotMinutes !== options.scenario.slotMinutes)
      throw new OperationalError(
        `the market's slots are ${settings.slotMinutes} minutes long and the scenario ${options.scenario.name}'s ${options.scenario.slotMinutes}: its households plan the scenario's slots`,
      );
    const runner = new HouseholdRunner(options, settings);
    const kept = await options.records.read(options.households.map((household) => household.id));
    for (const home of runner.#homes) await home.restore(kept.get(home.id) ?? []);
    return runner;
  }

  /** Follows the board until {@link stop}: every change wakes every home. */
  async run(): Promise<void> {
    const { board, log } = this.options;
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        for await (const event of board.events({
          ...(this.#lastEvent < 0 ? {} : { after: this.#lastEvent }),
          signal,
        })) {
          this.#view.set(event.slot.index, event.slot);
          this.#lastEvent = event.seq;
          for (const home of this.#homes) home.poke();
          this.#forgetDone();
        }
      } catch (error) {
        if (signal.aborted) break;
        log.warn(`the broker's live updates stopped (${describeError(error)}); following them again`);
        await this.#clock.sleep(REFOLLOW_MS, signal).catch(() => undefined);
      }
    }
  }

  /** Stops following the board, lets each home finish its step in hand, and waits until what they did is kept. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#homes.map((home) => home.stop()));
    await this.#writer.idle();
  }

  status(): RunnerStatus {
    const homes = this.#homes.map((home) => home.status());
    const slots = { recorded: 0, sent: 0, refused: 0, supplierOnly: 0, published: 0 };
    let retrying = 0;
    for (const home of homes) {
      for (const key of Object.keys(slots) as (keyof typeof slots)[]) slots[key] += home[key];
      if (home.problem !== undefined) retrying++;
    }
    return {
      status: retrying === 0 ? "ok" : "degraded",
      homes: homes.length,
      retrying,
      nodesConnected: this.options.nodes.connected,
      lastEvent: this.#lastEvent,
      slots,
    };
  }

  /** One home's progress, or undefined when the process does not run it. */
  home(id: string): HomeStatus | undefined {
    return this.#homes.find((home) => home.id === id)?.status();
  }

  /** Drops the board's slots no home needs any more. */
  #forgetDone(): void {
    let lowest = Number.POSITIVE_INFINITY;
    for (const home of this.#homes) lowest = Math.min(lowest, home.lowestNeeded);
    for (const index of this.#view.keys()) if (index < lowest) this.#view.delete(index);
  }
}
