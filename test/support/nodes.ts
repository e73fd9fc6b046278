/**
 * What tests of running nodes share: a small registered community with its signers, and a raw TLS
 * connection to a node's client port, as an attacker (or a broken client) would open it.
 * @module
 */
import { once } from "node:events";
import { connect, type TLSSocket } from "node:tls";
import type { PartyId } from "../../src/mpc/transport/types.ts";
import { generateRegistry, parseRegistry, signerOf } from "../../src/private/registry.ts";
import type { LocalCluster } from "../../src/roles/mpc-node/local-cluster.ts";

/** Two households, h0 and h1, in one zone with one supplier; with the keys of every party. */
export function twoHouseholds() {
  const generated = generateRegistry({
    households: [
      { id: "h0", zone: "z0", supplier: "s0" },
      { id: "h1", zone: "z0", supplier: "s0" },
    ],
  });
  return {
    generated,
    registry: parseRegistry(generated.file),
    signer: (party: string) => signerOf(generated.keys, party),
  };
}

/** A raw TLS connection to one node's client port (its certificate trusted, no client of ours around it). */
export async function rawConnection(cluster: LocalCluster, party: PartyId): Promise<TLSSocket> {
  const node = cluster.config.nodes[party];
  const socket = connect({
    host: node.host,
    port: node.clientPort,
    ca: [node.certificatePem],
    checkServerIdentity: () => undefined,
  });
  await once(socket, "secureConnect");
  return socket;
}
