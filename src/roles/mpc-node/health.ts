/**
 * A node's health endpoint: `GET /health` answers what the node knows of itself and its mesh, as
 * JSON, with status 200 while the mesh is up and 503 while the node is joining it again.
 * @module
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";

/** What a node shows of itself. */
export interface NodeHealth {
  readonly party: number;
  readonly node: string;
  /** `up`: all three nodes joined; `joining`: a peer is missing (or the node just started). */
  mesh: "up" | "joining";
  /** When the mesh last went up or down (ISO 8601). */
  since: string;
  /** Each peer, and whether the link to it is up. */
  readonly peers: { readonly party: number; readonly node: string; up: boolean }[];
  /** The last loss of the mesh: which peer, why, when (the first link this node saw close). */
  lastLoss?: { peer?: number; reason: string; at: string };
  /** While joining: the peer the last attempt to join could not reach, and why. */
  waitingFor?: { peer?: number; reason: string };
  /** Jobs run and failed since the node started. */
  readonly jobs: { run: number; failed: number };
  /** Jobs this node prepared and had no decision on when it last joined. */
  inDoubt: number;
}

/** A running health endpoint. */
export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /health` on `host:port` (port 0: any free port). */
export function serveHealth(
  where: { host: string; port: number },
  health: () => NodeHealth,
): Promise<HealthServer> {
  const app = new Hono();
  app.get("/health", (c) => {
    const now = health();
    return c.json(now, now.mesh === "up" ? 200 : 503);
  });
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: where.host, port: where.port }, (info) =>
      resolve({
        port: info.port,
        close: () => new Promise((done) => server.close(() => done())),
      }),
    );
    server.once("error", reject);
  });
}
