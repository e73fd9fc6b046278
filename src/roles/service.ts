/**
 * What every long-running role shares: a validated JSON config file, structured logs (JSON lines on
 * stderr), an HTTP server (the health endpoint, the broker's API) and a graceful shutdown on SIGTERM
 * or SIGINT that finishes the work in hand and stores what must be kept before the process exits.
 * @module
 */
import { readFileSync } from "node:fs";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import pino, { type Logger } from "pino";
import type { ZodType } from "zod";
import { parseJsonText, parseWith, ValidationError } from "../validation/index.ts";

export type { Logger } from "pino";

/** A service's logger: one JSON object per line on stderr, each with the service's name. */
export function serviceLogger(service: string, base: Record<string, unknown> = {}): Logger {
  return pino({ base: { service, ...base } }, pino.destination(2));
}

/**
 * Reads a service's JSON config file and checks it against `schema`.
 * @throws {@link ValidationError} naming the file and each bad field.
 */
export function loadServiceConfig<T>(path: string, schema: ZodType<T>): T {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new ValidationError([{ path, message: `cannot read the config file (${reason})` }]);
  }
  try {
    return parseWith(schema, parseJsonText(text));
  } catch (error) {
    if (error instanceof ValidationError)
      throw new ValidationError(error.issues.map((issue) => ({ ...issue, path: `${path}: ${issue.path}` })));
    throw error;
  }
}

/** A running HTTP server. */
export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves a Hono app on `host:port` (port 0: any free port).
 * @throws an Error with a sentence naming the cause when the port is taken or the host is not local.
 */
export function serveHttp(app: Hono, where: { host: string; port: number }): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: where.host, port: where.port }, (info) =>
      resolve({
        port: info.port,
        close: () =>
          new Promise((done) => {
            // Live-update streams stay open until their clients go: end them, or close never returns.
            if ("closeAllConnections" in server) server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    );
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === "EADDRINUSE"
            ? `port ${where.port} on ${where.host} is already in use: stop what listens there or choose another port`
            : error.code === "EADDRNOTAVAIL"
              ? `${where.host} is not an address of this machine`
              : `cannot listen on ${where.host}:${where.port} (${error.code ?? error.message})`,
        ),
      ),
    );
  });
}

/**
 * Stops the service gracefully on the first SIGTERM or SIGINT (its `stop` finishes the work in hand and
 * closes its stores), and at once on a second one. Resolves when `stop` has run.
 */
export function untilShutdown(logger: Logger, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, "stopping at once");
        logger.flush();
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, "stopping");
      stop().then(() => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        logger.info("stopped");
        logger.flush();
        resolve();
      }, reject);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
