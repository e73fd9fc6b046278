/**
 * The community stage, the metering and the billing of a running market on the MPC nodes, slot after
 * slot, as a deployment runs them: households share their orders, meters send their sealed readings,
 * the operator closes the slot's metering and bills it from the readings the nodes hold, and each
 * household fetches its own bill. A slot the nodes cannot clear (a node died or stalled) is reported,
 * left uncleared — its households deal with their supplier — and the next slot goes to fresh nodes
 * (local ones are restarted) instead of hanging.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { billingPeriodOf } from "../billing/index.ts";
import type { BillingModel, BillingSlot, SlotBilling } from "../billing/types.ts";
import type { ClearRequest, ClearResult } from "../market/types.ts";
import { billOutputsOf, prepareBill } from "../private/billing/encode.ts";
import type { BillPublic } from "../private/billing/program.ts";
import type { Signer } from "../private/keys.ts";
import {
  type GeneratedRegistry,
  generateRegistry,
  loadRegistryKeys,
  meterIdOf,
  OPERATOR_ID,
  privateKeyOf,
  type RegistryKeys,
  registryKeysPath,
  signerOf,
} from "../private/registry.ts";
import { closeMetering, closePeriod, closeSlot } from "../roles/broker/close.ts";
import { ownSlotBills } from "../roles/household/figures.ts";
import { submitOrder } from "../roles/household/orders.ts";
import { sendReading } from "../roles/meter/readings.ts";
import { NodeClient } from "../roles/mpc-node/client.ts";
import { loadNodeConfig, type NodeConfig } from "../roles/mpc-node/config.ts";
import { type LocalCluster, startLocalCluster } from "../roles/mpc-node/local-cluster.ts";
import { ValidationError } from "../validation/index.ts";

/** Where the nodes are: a configuration of running nodes, or three local processes. */
export interface MpcEngineOptions {
  /**
   * Path of a running nodes' configuration, whose registry lists the community's meters, with the
   * development keys beside it (`snippet node-config --scenario`); absent: start three local nodes.
   */
  nodes?: string;
  /** The community's households, with their feeder zone (a generated registry's, for local nodes). */
  households: readonly { readonly id: string; readonly zone?: string | undefined }[];
  /** Told, with the node's name, about every slot left uncleared and every meter that did not report. */
  onFault: (message: string) => void;
}

/** The supplier of every household of a simulated community. */
export const COMMUNITY_SUPPLIER = "supplier";

/**
 * A simulated community's registry: one meter per household, in its feeder zone (or the one zone
 * `community`), all with the community's supplier.
 */
export function communityRegistry(households: MpcEngineOptions["households"]): GeneratedRegistry {
  return generateRegistry({
    households: households.map(({ id, zone }) => ({
      id,
      zone: zone ?? "community",
      supplier: COMMUNITY_SUPPLIER,
    })),
  });
}

/** Clears community books on the nodes, one slot at a time. */
export class MpcCommunityEngine {
  #cluster: LocalCluster | undefined;
  #client: NodeClient | undefined;
  #keys: RegistryKeys | undefined;
  readonly #signers = new Map<string, Signer>();
  readonly #meterKeys = new Map<string, KeyObject>();
  /** The billing period of the last slot billed, closed when the next period begins. */
  #period: string | undefined;

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
   * The slot's metering and bills: each household's meter sends its sealed reading to the nodes, the
   * operator closes the slot's metering and has the nodes bill it from those readings (the `bill`
   * program on shares), and each household fetches its own bill from the nodes.
   * A slot cannot go unbilled: when the nodes fail, the error ends the run, which resumes from its
   * last stored day.
   */
  readonly bill = async (slot: BillingSlot, model: BillingModel): Promise<SlotBilling> => {
    if (this.#client === undefined) await this.#connect();
    const client = this.#client as NodeClient;
    const operator = this.#signer(OPERATOR_ID);
    const period = billingPeriodOf(slot.slot);
    if (this.#period !== undefined && this.#period !== period)
      await closePeriod(client, this.#period, operator);
    this.#period = period;
    const refusals = await Promise.all(
      slot.households.map(async (household) => {
        const meter = meterIdOf(household.id);
        return sendReading(client, { id: meter, key: this.#meterKey(meter) }, slot.slot, household.metered);
      }),
    );
    for (const refusal of refusals) if (refusal !== null) this.options.onFault(refusal);
    const closed = await closeMetering(client, slot.slot, operator);
    if (closed.missing.length > 0)
      this.options.onFault(
        `slot ${slot.slot}: no reading from ${closed.missing.join(", ")}; billed at the estimate`,
      );
    const prepared = prepareBill([slot], model, { metered: true });
    const outcome = await client.run("bill", prepared.params, prepared.inputs, { signer: operator });
    // Each household fetches its own bill from the nodes.
    const rows = await Promise.all(
      slot.households.map(async ({ id }) => {
        const [row] = await ownSlotBills(client, [slot.slot], this.#signer(id));
        if (row === null || row === undefined)
          throw new Error(`the nodes keep no bill of ${id} for slot ${slot.slot}`);
        return row;
      }),
    );
    const outputs = billOutputsOf(rows);
    return prepared.finish(outcome.public as BillPublic, outputs)[0] as SlotBilling;
  };

  /** Closes the last billing period and stops local nodes. */
  async close(): Promise<void> {
    if (this.#client !== undefined && this.#period !== undefined && this.#keys !== undefined)
      await closePeriod(this.#client, this.#period, this.#signer(OPERATOR_ID)).catch((error: unknown) =>
        this.options.onFault(`the last billing period stays open: ${String(error)}`),
      );
    await this.#disconnect();
  }

  /** A party's signer and a meter's key, each built once from the registry's keys. */
  #signer(party: string): Signer {
    return memo(this.#signers, party, () => signerOf(this.#keys as RegistryKeys, party));
  }

  #meterKey(meter: string): KeyObject {
    return memo(this.#meterKeys, meter, () => privateKeyOf(this.#keys as RegistryKeys, "meters", meter));
  }

  async #connect(): Promise<void> {
    // Fresh local nodes come with a fresh registry: keys built for the last one no longer sign.
    this.#signers.clear();
    this.#meterKeys.clear();
    let config: NodeConfig;
    if (this.options.nodes === undefined) {
      const registry = communityRegistry(this.options.households);
      this.#cluster = await startLocalCluster({ registry });
      this.#keys = registry.keys;
      config = this.#cluster.config;
    } else {
      config = await loadNodeConfig(this.options.nodes);
      if (config.registryPath === undefined)
        throw new ValidationError([
          { path: "--nodes", message: `${this.options.nodes} names no registry of the community's meters` },
        ]);
      this.#keys = loadRegistryKeys(registryKeysPath(config.registryPath));
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

function memo<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
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
