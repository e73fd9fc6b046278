/**
 * `snippet clear --engine mpc`: the slot cleared by three MPC nodes — running ones named by a node
 * configuration, or three local `snippet node` processes started for the purpose and stopped after.
 * Loaded only when the MPC engine is asked for.
 * @module
 */
import type { ClearRequest, ClearResult } from "../market/types.ts";
import { clearWithNodes } from "../mpc/clearing/client.ts";
import { startLocalCluster } from "../mpc/local-cluster.ts";
import { NodeClient } from "../mpc/node-client.ts";
import { loadNodeConfig } from "../mpc/node-config.ts";

/** Clears on the nodes of `nodesConfig`, or on three local node processes when it is absent. */
export async function clearOnMpc(
  request: ClearRequest,
  nodesConfig: string | undefined,
): Promise<ClearResult> {
  const cluster = nodesConfig === undefined ? await startLocalCluster() : undefined;
  try {
    const config = cluster?.config ?? (await loadNodeConfig(nodesConfig as string));
    const client = await NodeClient.connect(config);
    try {
      return await clearWithNodes(client, request);
    } finally {
      client.close();
    }
  } finally {
    await cluster?.stop();
  }
}
