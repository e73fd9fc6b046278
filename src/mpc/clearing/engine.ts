/**
 * The community stage and the billing of a running market on the MPC nodes, slot after slot: a slot
 * the nodes cannot clear (a node died or stalled) is reported, left uncleared — its households deal
 * with their supplier — and the next slot goes to fresh nodes (local ones are restarted) instead of
 * hanging.
 * @module
 */
import type { BillingModel, BillingSlot, SlotBilling } from "../../billing/types.ts";
import type { ClearRequest, ClearResult } from "../../market/types.ts";
import { prepareBill } from "../billing/client.ts";
import type { BillPublic } from "../billing/program.ts";
import { type LocalCluster, startLocalCluster } from "../local-cluster.ts";
import { NodeClient } from "../node-client.ts";
import { loadNodeConfig, type NodeConfig } from "../node-config.ts";
import { closeSlot, submitOrder } from "./household.ts";

/** Where the nodes are: a configuration of running nodes, or three local processes. */
export interface MpcEngineOptions {
  /** Path of a running nodes' configuration; absent: start three local nodes. */
  nodes?: string;
  /** Told, with the node's name, about every slot left uncleared. */
  onFault: (message: string) => void;
}

/** Clears community books on the nodes, one slot at a time. */
export class MpcCommunityEngine {
  #cluster: LocalCluster | undefined;
  #client: NodeClient | undefined;

  private constructor(private readonly options: MpcEngineOptions) {}

  static async start(options: MpcEngineOptions): Promise<MpcCommunityEngine> {
    const engine = new MpcCommunityEngine(options);
    await engine.#connect();
    return engine;
  }

  /**
   * The slot's community result, cleared as a deployment clears it: every household shares its own
   * order (here over one connection for them all), the broker closes the slot, and each household
   * rebuilds its own fill. Without fills (uncleared) when the nodes fail on it.
   */
  readonly clear = async (request: ClearRequest): Promise<ClearResult> => {
    try {
      if (this.#client === undefined) await this.#connect();
      const client = this.#client as NodeClient;
      const job = `slot ${request.slot}`;
      const held = await Promise.all(request.orders.map((order) => submitOrder(client, job, order)));
      const figures = await closeSlot(client, job, {
        feedIn: request.prices.feedIn,
        retail: request.prices.retail,
        ...(request.zones === undefined ? {} : { zones: [...request.zones] }),
      });
      const fills = await Promise.all(held.map((order) => order.fill));
      return {
        version: 1,
        slot: request.slot,
        clearingPrice: figures.clearingPrice,
        volumeWh: figures.volumeWh,
        fills: fills.map(({ id, filledWh, cappedWh }) => ({
          id,
          filledWh,
          ...(cappedWh === undefined ? {} : { cappedWh }),
        })),
        ...(figures.zones === undefined ? {} : { zones: figures.zones }),
      };
    } catch (error) {
      this.options.onFault(
        `slot ${request.slot} left uncleared, households go to their supplier: ${error instanceof Error ? error.message : String(error)}`,
      );
      await this.#disconnect();
      return uncleared(request);
    }
  };

  /**
   * The slot's bills, computed by the nodes on shares (the `bill` program). A slot cannot go unbilled:
   * when the nodes fail, the error ends the run, which resumes from its last stored day.
   */
  readonly bill = async (slot: BillingSlot, model: BillingModel): Promise<SlotBilling> => {
    if (this.#client === undefined) await this.#connect();
    const prepared = prepareBill([slot], model);
    const outcome = await (this.#client as NodeClient).run("bill", prepared.params, prepared.inputs);
    return prepared.finish(outcome.public as BillPublic, outcome.outputs)[0] as SlotBilling;
  };

  async close(): Promise<void> {
    await this.#disconnect();
  }

  async #connect(): Promise<void> {
    let config: NodeConfig;
    if (this.options.nodes === undefined) {
      this.#cluster = await startLocalCluster();
      config = this.#cluster.config;
    } else {
      config = await loadNodeConfig(this.options.nodes);
    }
    this.#client = await NodeClient.connect(config);
  }

  async #disconnect(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
    await this.#cluster?.stop();
    this.#cluster = undefined;
  }

  /** The local nodes, for fault tests. */
  get localCluster(): LocalCluster | undefined {
    return this.#cluster;
  }
}

/** A slot in which the community did not trade: every order unfilled. */
function uncleared(request: ClearRequest): ClearResult {
  return {
    version: 1,
    slot: request.slot,
    clearingPrice: null,
    volumeWh: 0,
    fills: request.orders.map((order) => ({ id: order.id, filledWh: 0 })),
  };
}
