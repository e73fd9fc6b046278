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

/** Clears on the nodes of `nodesConfig`, or on three local node processes when it is absent. */
export async function clearOnMpc(
  request: ClearRequest,
  nodesConfig: string | undefined,
): Promise<ClearResult> {
  // Encoding first: what the engine cannot clear is refused before any node starts.
  const prepared = prepareClear(request);
  const cluster = nodesConfig === undefined ? await startLocalCluster() : undefined;
  try {
    const config = cluster?.config ?? (await loadNodeConfig(nodesConfig as string));
    const client = await NodeClient.connect(config);
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
}
