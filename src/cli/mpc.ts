/**
 * `snippet clear --engine mpc`: the slot cleared by three MPC nodes — running ones named by a node
 * configuration, or three local `snippet node` processes started for the purpose and stopped after.
 * Loaded only when the MPC engine is asked for.
 * @module
 */
import type { ClearRequest, ClearResult } from "../market/types.ts";
import { prepareClear } from "../mpc/clearing/client.ts";
import type { ClearPublic } from "../mpc/clearing/program.ts";
import { startLocalCluster } from "../mpc/local-cluster.ts";
import { NodeClient } from "../mpc/node-client.ts";
import { loadNodeConfig } from "../mpc/node-config.ts";

/** The MPC engine for one `snippet clear`. */
export interface MpcClearing {
  /** Clears the request on the nodes. */
  clear(request: ClearRequest): Promise<ClearResult>;
  /** Drops the engine unused (the request was refused): closes what is already connected. */
  abandon(): void;
}

/**
 * The engine on the nodes of `nodesConfig`, or on three local node processes when it is absent.
 * Running nodes are dialled at once, so that the TLS setup overlaps reading and validating the
 * request; local nodes start only for a request the engine can clear.
 */
export function mpcClearing(nodesConfig: string | undefined): MpcClearing {
  const connecting =
    nodesConfig === undefined
      ? undefined
      : loadNodeConfig(nodesConfig).then((config) => NodeClient.connect(config));
  // A failure to connect is reported by `clear`, or not at all when the request is refused first.
  connecting?.catch(() => undefined);
  const abandon = () =>
    void connecting?.then(
      (client) => client.close(),
      () => undefined,
    );
  return {
    abandon,
    async clear(request) {
      let prepared: ReturnType<typeof prepareClear>;
      try {
        // Encoding first: what the engine cannot clear is refused before any node starts.
        prepared = prepareClear(request);
      } catch (error) {
        abandon();
        throw error;
      }
      const cluster = connecting === undefined ? await startLocalCluster() : undefined;
      try {
        const client = await (cluster === undefined
          ? (connecting as Promise<NodeClient>)
          : NodeClient.connect(cluster.config));
        try {
          const outcome = await client.run("clear", prepared.params, prepared.inputs, {
            bitWords: prepared.bitWords,
          });
          return prepared.finish(outcome.public as ClearPublic, outcome.outputs);
        } finally {
          client.close();
        }
      } finally {
        await cluster?.stop();
      }
    },
  };
}
