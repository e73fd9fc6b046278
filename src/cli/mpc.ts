/**
 * `snippet clear --engine mpc` and `snippet bill --engine mpc`: the work done by three MPC nodes —
 * running ones named by a node configuration, or three local `snippet node` processes started for
 * the purpose and stopped after. Loaded only when the MPC engine is asked for.
 * @module
 */
import type { BillingModel, BillingSlot, SlotBilling } from "../billing/types.ts";
import type { ClearRequest, ClearResult } from "../market/types.ts";
import { batches, prepareBill } from "../private/billing/encode.ts";
import type { BillPublic } from "../private/billing/program.ts";
import { prepareClear } from "../private/clearing/encode.ts";
import type { ClearPublic } from "../private/clearing/program.ts";
import { NodeClient } from "../roles/mpc-node/client.ts";
import { loadNodeConfig } from "../roles/mpc-node/config.ts";

/** The MPC engine for one command's request. */
export interface MpcEngine<Request, Result> {
  run(request: Request): Promise<Result>;
  /** Drops the engine unused (the request was refused): closes what is already connected. */
  abandon(): void;
}

/**
 * An engine on the nodes of `nodesConfig`, or on three local node processes when it is absent.
 * Running nodes are dialled at once, so that the TLS setup overlaps reading and validating the
 * request; local nodes start only for a request `prepare` accepts.
 */
function mpcEngine<Request, Prepared, Result>(
  nodesConfig: string | undefined,
  prepare: (request: Request) => Prepared,
  execute: (client: NodeClient, prepared: Prepared) => Promise<Result>,
): MpcEngine<Request, Result> {
  const connecting =
    nodesConfig === undefined
      ? undefined
      : loadNodeConfig(nodesConfig).then((config) => NodeClient.connect(config));
  // A failure to connect is reported by `run`, or not at all when the request is refused first.
  connecting?.catch(() => undefined);
  const abandon = () =>
    void connecting?.then(
      (client) => client.close(),
      () => undefined,
    );
  return {
    abandon,
    async run(request) {
      let prepared: Prepared;
      try {
        // Encoding first: what the engine cannot take is refused before any node starts.
        prepared = prepare(request);
      } catch (error) {
        abandon();
        throw error;
      }
      // Loaded only for local nodes: a client of running nodes spawns nothing.
      const cluster =
        connecting === undefined
          ? await (await import("../roles/mpc-node/local-cluster.ts")).startLocalCluster()
          : undefined;
      try {
        const client = await (cluster === undefined
          ? (connecting as Promise<NodeClient>)
          : NodeClient.connect(cluster.config));
        try {
          return await execute(client, prepared);
        } finally {
          client.close();
        }
      } finally {
        await cluster?.stop();
      }
    },
  };
}

/** The clearing of one slot on the nodes. */
export function mpcClearing(nodesConfig: string | undefined): MpcEngine<ClearRequest, ClearResult> {
  return mpcEngine(nodesConfig, prepareClear, async (client, prepared) => {
    const outcome = await client.run("clear", prepared.params, prepared.inputs, {
      bitWords: prepared.bitWords,
    });
    return prepared.finish(outcome.public as ClearPublic, outcome.outputs);
  });
}

/**
 * The bills of a period's slots on the nodes, in runs of the `bill` program of at most
 * MAX_HOUSEHOLD_SLOTS household-slots each.
 */
export function mpcBilling(
  nodesConfig: string | undefined,
  model: BillingModel,
): MpcEngine<readonly BillingSlot[], SlotBilling[]> {
  return mpcEngine(
    nodesConfig,
    (slots: readonly BillingSlot[]) => batches(slots).map((batch) => prepareBill(batch, model)),
    async (client, prepared) => {
      const billings: SlotBilling[] = [];
      for (const batch of prepared) {
        const outcome = await client.run("bill", batch.params, batch.inputs);
        billings.push(...batch.finish(outcome.public as BillPublic, outcome.outputs));
      }
      return billings;
    },
  );
}
