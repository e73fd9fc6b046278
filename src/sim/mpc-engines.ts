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
import { aggregateIdOf } from "../agents/representative.ts";
import { billingPeriodOf } from "../billing/index.ts";
import type { BillingModel, BillingSlot, SlotBilling } from "../billing/types.ts";
import { compareIds } from "../market/auction.ts";
import { planSlot, type SlotOutcome, type SlotRequest, settleSlot } from "../market/slot.ts";
import type { Fill, Order } from "../market/types.ts";
import { billOutputsOf, prepareBill } from "../private/billing/encode.ts";
import type { BillPublic } from "../private/billing/program.ts";
import type { SlotClosed } from "../private/clearing/intents.ts";
import type { Signer } from "../private/keys.ts";
import {
  type GeneratedRegistry,
  generateRegistry,
  loadRegistryKeys,
  meterIdOf,
  OPERATOR_ID,
  privateKeyOf,
  type Registry,
  type RegistryKeys,
  registryKeysPath,
  signerOf,
} from "../private/registry.ts";
import { clearSlotOnNodes, closeMetering, closePeriod } from "../roles/broker/close.ts";
import { ownSlotBills } from "../roles/household/figures.ts";
import { type HouseholdSlotOutcome, submitIntent } from "../roles/household/intent.ts";
import { sendReading } from "../roles/meter/readings.ts";
import { NodeClient } from "../roles/mpc-node/client.ts";
import { loadNodeConfig, type NodeConfig } from "../roles/mpc-node/config.ts";
import { type LocalCluster, startLocalCluster } from "../roles/mpc-node/local-cluster.ts";
import { ValidationError } from "../validation/index.ts";
import { physicalCapacityWhOf, type Scenario } from "./scenario.ts";

/** Where the nodes are: a configuration of running nodes, or three local processes. */
export interface MpcEngineOptions {
  /**
   * Path of a running nodes' configuration, whose registry lists the community (its households,
   * meters, partnerships and zones), with the development keys beside it (`snippet node-config
   * --scenario`); absent: start three local nodes with the scenario's registry.
   */
  nodes?: string;
  /** The community the local nodes' registry is made from. */
  scenario: CommunityPlan;
  /**
   * Told, with the node's name, about every slot left uncleared, every meter that did not report and
   * every reading the nodes refused as implausible.
   */
  onFault: (message: string) => void;
}

/** What a simulated community's registry is made from: its households, zones, slot length and fuse rating. */
export type CommunityPlan = Pick<Scenario, "households" | "zones" | "slotMinutes" | "physicalCapacityW">;

/** The supplier of every household of a simulated community. */
export const COMMUNITY_SUPPLIER = "supplier";

/**
 * A simulated community's registry: one meter per household, in its feeder zone (or the one zone
 * `community`), with its connection's trading cap and physical capacity per slot (the bound the
 * nodes hold its readings to, as the simulation's billing does) and the community's supplier; each
 * household's offers as its registered partnerships, in its priority order; the scenario's zones;
 * and the representatives' aggregate orders (one buy and one sell per zone of their clients) as
 * parties that trade.
 */
export function communityRegistry(scenario: CommunityPlan): GeneratedRegistry {
  const { households } = scenario;
  const traders = new Map<string, string | undefined>();
  for (const household of households) {
    if (household.representative === undefined) continue;
    for (const side of ["buy", "sell"] as const)
      traders.set(aggregateIdOf(household.representative, household.zone, side), household.zone);
  }
  return generateRegistry({
    households: households.map((household) => ({
      id: household.id,
      zone: household.zone ?? "community",
      supplier: COMMUNITY_SUPPLIER,
      ...(household.connectionCapWh === undefined ? {} : { connectionCapWh: household.connectionCapWh }),
      physicalCapacityWh: physicalCapacityWhOf(scenario, household),
    })),
    traders: [...traders].map(([id, zone]) => ({ id, ...(zone === undefined ? {} : { zone }) })),
    partners: households.flatMap((household) => {
      const buyers = household.preferences?.offers?.map((offer) => offer.partner) ?? [];
      return buyers.length === 0 ? [] : [{ seller: household.id, buyers: [...new Set(buyers)] }];
    }),
    ...(scenario.zones === undefined ? {} : { zones: scenario.zones }),
  });
}

/** Clears whole slots and bills them on the nodes, one slot at a time. */
export class MpcCommunityEngine {
  #cluster: LocalCluster | undefined;
  #client: NodeClient | undefined;
  #keys: RegistryKeys | undefined;
  /** The registry the nodes serve from: the households' intent layouts and the DSO's map. */
  #registry: Registry | undefined;
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
   * The whole slot, cleared as a deployment clears it: every household seals its own intent to the
   * nodes (here over one connection for them all), the broker clears the slot at gate close, and each
   * household rebuilds its own commitments. When the nodes fail on it, every household deals with its
   * supplier.
   */
  readonly slot = async (request: SlotRequest): Promise<SlotOutcome> => {
    try {
      if (this.#client === undefined) await this.#connect();
      const client = this.#client as NodeClient;
      const registry = this.#registry as Registry;
      const held = await Promise.all(
        request.households.map((intent) =>
          submitIntent(client, registry, request.slot, intent, this.#signer(intent.id)),
        ),
      );
      const closed = await clearSlotOnNodes(client, request.slot, request.prices, this.#signer(OPERATOR_ID));
      if (closed.refused.length > 0 || closed.leftOut.length > 0)
        this.options.onFault(
          `slot ${request.slot}: intents refused (${closed.refused.join(", ")}) or left out (${closed.leftOut.join(", ")}); they go to their supplier`,
        );
      return slotOutcomeOf(request, closed, await Promise.all(held.map((intent) => intent.commitments)));
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
    for (const { meter, reason } of closed.implausible)
      this.options.onFault(`slot ${slot.slot}: ${meter} refused: ${reason}; billed at the estimate`);
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
      const registry = communityRegistry(this.options.scenario);
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
    this.#registry = config.registry;
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

/**
 * The slot's outcome as the reference gives it, from what each household rebuilt: the bilateral
 * trades in the order they were agreed (sellers by id, each in its priority order), the community
 * orders left after them, the community's result and every household's commitments.
 */
function slotOutcomeOf(
  request: SlotRequest,
  closed: SlotClosed,
  outcomes: readonly HouseholdSlotOutcome[],
): SlotOutcome {
  const orders: Order[] = [];
  const fills: Fill[] = [];
  request.households.forEach((intent, h) => {
    const outcome = outcomes[h] as HouseholdSlotOutcome;
    if (outcome.communityOrderWh <= 0) return;
    const { id, side, limitPrice, zone } = intent;
    orders.push({
      id,
      side,
      volumeWh: outcome.communityOrderWh,
      limitPrice,
      ...(zone === undefined ? {} : { zone }),
    });
    fills.push({ id, filledWh: outcome.committed.communityBuyWh + outcome.committed.communitySellWh });
  });
  const bilateral = [...outcomes]
    .sort((a, b) => compareIds(a.id, b.id))
    .flatMap((outcome) =>
      outcome.committed.bilateral
        .filter((trade) => trade.side === "sell")
        .map((trade) => ({
          seller: outcome.id,
          buyer: trade.partner,
          volumeWh: trade.volumeWh,
          price: trade.price,
        })),
    );
  const zones = request.zones;
  return {
    bilateral,
    orders,
    community: {
      version: 1,
      slot: request.slot,
      clearingPrice: closed.clearingPrice,
      volumeWh: closed.volumeWh,
      fills,
      ...(zones === undefined || closed.zones === undefined
        ? {}
        : {
            zones: zones.map((zone, z) => ({
              id: zone.id,
              clearingPrice: closed.zones?.[z]?.clearingPrice ?? null,
              netExportWh: Number(closed.zones?.[z]?.netExportWh ?? 0),
            })),
          }),
    },
    commitments: outcomes.map(({ id, cappedWh, committed }) => ({ id, cappedWh, committed })),
  };
}

/** A slot the nodes could not clear: every household with its supplier for its whole (capped) volume. */
export function uncleared(request: SlotRequest): SlotOutcome {
  const plan = planSlot({
    ...request,
    households: request.households.map(({ offers: _, accepts: __, ...intent }) => intent),
  });
  return settleSlot(plan, {
    version: 1,
    slot: request.slot,
    clearingPrice: null,
    volumeWh: 0,
    fills: [],
  });
}
