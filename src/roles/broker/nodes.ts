/**
 * The market's steps on the three nodes, as the operator: clear a slot, close its metering, bill it,
 * close a billing period — each a signed job, bounded in time, over one connection that is dialled
 * again after it broke or a job timed out (a node down fails the step in hand, naming the node, and
 * the next step dials afresh). Also the health check's view of the nodes: a TLS handshake with each,
 * its certificate pinned, timed.
 * @module
 */
import { connect } from "node:tls";
import type { BillingModel } from "../../billing/types.ts";
import { PARTIES, type PartyId } from "../../mpc/transport/types.ts";
import type { SlotClosed } from "../../private/clearing/intents.ts";
import type { Signer } from "../../private/keys.ts";
import { describeError } from "../../validation/index.ts";
import { NodeClient, pinnedTlsOptions } from "../mpc-node/client.ts";
import type { NodeConfig } from "../mpc-node/config.ts";
import { billSlotOnNodes } from "./bill.ts";
import type { SlotPrices } from "./board.ts";
import { clearSlotOnNodes, closeMetering, closePeriod } from "./close.ts";
import {
  type BillingFigures,
  type ClearingFigures,
  type MarketSteps,
  type MeteringFigures,
  type ServiceLog,
  StepDone,
} from "./market.ts";

export interface NodeStepsOptions {
  readonly config: NodeConfig;
  readonly operator: Signer;
  readonly model: BillingModel;
  readonly log: ServiceLog;
}

/**
 * A refusal by which the nodes say they did the slot's step before (for a broker that then stopped)
 * and keep no answer to give again (src/private/clearing/intents.ts, src/private/billing/slot.ts).
 */
const ALREADY_DONE = /\bslot \S+ is (already (cleared|billed|closed)|(cleared|billed|closed) already)\b/;

export class NodeSteps implements MarketSteps {
  readonly #options: NodeStepsOptions;
  readonly #jobTimeoutMs: number;
  #client: NodeClient | undefined;

  constructor(options: NodeStepsOptions) {
    this.#options = options;
    // The nodes give up on a silent peer after their timeout; the broker waits for that, and then some.
    this.#jobTimeoutMs = 3 * options.config.timeoutMs;
  }

  async clear(slot: string, prices: SlotPrices): Promise<ClearingFigures> {
    const closed = await this.#run(`clear slot ${slot}`, (client) =>
      clearSlotOnNodes(
        client,
        slot,
        { feedIn: prices.feedIn, retail: prices.retail },
        this.#options.operator,
      ),
    );
    return clearingFiguresOf(closed, this.#options.config);
  }

  async closeMetering(slot: string): Promise<MeteringFigures> {
    const closed = await this.#run(`close the metering of slot ${slot}`, (client) =>
      closeMetering(client, slot, this.#options.operator),
    );
    if (closed.late.length > 0)
      this.#options.log.warn(
        { slot, late: closed.late.length },
        "readings refused since the last close: their slot was closed",
      );
    return { reported: closed.reported, missing: [...closed.missing], implausible: [...closed.implausible] };
  }

  async bill(slot: string, prices: SlotPrices): Promise<BillingFigures> {
    const { model, operator } = this.#options;
    const { totalDeviationWh, sharers, sharedWh } = await this.#run(`bill slot ${slot}`, (client) =>
      billSlotOnNodes(client, slot, prices, model, operator),
    );
    return { totalDeviationWh, sharers, sharedWh };
  }

  async closePeriod(period: string): Promise<void> {
    await this.#run(`close billing period ${period}`, (client) =>
      closePeriod(client, period, this.#options.operator),
    );
  }

  /** Drops the connection (a stopping broker). */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }

  /**
   * Runs one job on the nodes within the job timeout, dialling them first when there is no working
   * connection. A refusal that says the step was done before becomes {@link StepDone}; after any other
   * failure the connection is dropped, so that the next step starts afresh.
   */
  async #run<T>(what: string, job: (client: NodeClient) => Promise<T>): Promise<T> {
    if (this.#client?.broken === true) this.close();
    this.#client ??= await NodeClient.connect(this.#options.config);
    const client = this.#client;
    let timer: NodeJS.Timeout | undefined;
    const running = job(client);
    try {
      return await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`the nodes did not finish the job to ${what} within ${this.#jobTimeoutMs} ms`),
              ),
            this.#jobTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      // Closing fails the job's waits: it must not reject unheard.
      running.catch(() => undefined);
      if (ALREADY_DONE.test(describeError(error)) && !client.broken) throw new StepDone(describeError(error));
      if (this.#client === client) this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The board's clearing figures of what the nodes answered: counts, not who (the zones by the registry's ids). */
function clearingFiguresOf(closed: SlotClosed, config: NodeConfig): ClearingFigures {
  const zones = config.registry?.zones;
  return {
    clearingPrice: closed.clearingPrice,
    volumeWh: closed.volumeWh,
    ...(closed.zones === undefined || zones === undefined
      ? {}
      : {
          zones: closed.zones.map((zone, z) => ({
            id: (zones[z] as { id: string }).id,
            clearingPrice: zone.clearingPrice,
            netExportWh: Number(zone.netExportWh),
          })),
        }),
    intents: closed.intents,
    refused: closed.refused.length,
    leftOut: closed.leftOut.length,
  };
}

/** A node as the health check sees it. */
export interface NodeReachability {
  readonly party: PartyId;
  readonly up: boolean;
  /** The TLS handshake's time, ms; absent when the node is down. */
  readonly latencyMs?: number;
  /** Why it is down. */
  readonly reason?: string;
}

/**
 * Whether each node answers on its client port: a TLS handshake with its pinned certificate, timed,
 * closed at once (it costs the node no job). A node that does not answer within `timeoutMs` is down.
 */
export function pingNodes(config: NodeConfig, timeoutMs: number): Promise<NodeReachability[]> {
  return Promise.all(PARTIES.map((party) => pingNode(config, party, timeoutMs)));
}

function pingNode(config: NodeConfig, party: PartyId, timeoutMs: number): Promise<NodeReachability> {
  const startMs = performance.now();
  return new Promise((resolve) => {
    const socket = connect(pinnedTlsOptions(config, party));
    const done = (result: Omit<NodeReachability, "party">) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ party, ...result });
    };
    const timer = setTimeout(
      () => done({ up: false, reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    socket.once("secureConnect", () =>
      done({ up: true, latencyMs: Math.round(performance.now() - startMs) }),
    );
    socket.once("error", (error) => done({ up: false, reason: error.message }));
  });
}
