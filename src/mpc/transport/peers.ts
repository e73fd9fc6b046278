/**
 * The three nodes of a mesh as each sees the others: a name for messages, where it listens for the
 * other nodes, and the one certificate it may present (pinned by its SHA-256 fingerprint).
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { PartyId } from "./types.ts";

/** One node of the mesh. */
export interface MeshNode {
  /** A human name for messages and logs, such as `node-a`. */
  readonly name: string;
  /** Where the node listens for the other nodes (a host name or an IP address). */
  readonly host: string;
  readonly port: number;
  /** The node's certificate, PEM text: the only certificate the others accept from it. */
  readonly certificatePem: string;
}

/** The three nodes, by party index. */
export interface Mesh {
  readonly nodes: readonly [MeshNode, MeshNode, MeshNode];
}

/** The SHA-256 fingerprint of a PEM certificate, as Node's TLS reports a peer's (`AB:CD:…`). */
export function certificateFingerprint(certificatePem: string): string {
  return new X509Certificate(certificatePem).fingerprint256;
}

/** How a party reads in messages: `node 2 (node-c)`. */
export function describeNode(mesh: Mesh, party: PartyId): string {
  return `node ${party} (${mesh.nodes[party].name})`;
}
