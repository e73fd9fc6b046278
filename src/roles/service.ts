/**
 * What every long-running role shares: a validated JSON config file, structured logs (JSON lines on
 * stderr), an HTTP server (the health endpoint, the broker's API) and a graceful shutdown on SIGTERM
 * or SIGINT that finishes the work in hand and stores what must be kept before the process exits.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import pino, { type Logger } from "pino";
import { type ZodType, z } from "zod";
import { isPostgresUrl } from "../store/open.ts";
import { listenError } from "../system/errors.ts";
import { integerField, parseJsonText, parseWith, ValidationError } from "../validation/index.ts";

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

/** Where a service listens, such as its health endpoint: `{"host": "127.0.0.1", "port": 0}` (0: any free port). */
export const listenSchema = z.strictObject({
  host: z.string().min(1, { error: "is an empty host" }),
  port: integerField(0, 65_535, "not a port (0..65535)", "not a port (0..65535)"),
});

/** A path written in a config file, which is relative to the file's folder (an absolute one stays). */
export function configRelative(configFile: string, path: string): string {
  return resolve(dirname(resolve(configFile)), path);
}

/** A scenario named in a config file: a file beside it (or at an absolute path), else a shipped scenario's name. */
export function configScenario(configFile: string, scenario: string): string {
  const path = configRelative(configFile, scenario);
  return existsSync(path) ? path : scenario;
}

/** A store named in a config file: a PostgreSQL URL stays as it is, a PGlite folder is relative to the file. */
export function configStore(configFile: string, store: string): string {
  return isPostgresUrl(store) ? store : configRelative(configFile, store);
}

/** A config field naming a file or folder. */
export const pathField = z
  .string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a path` })
  .min(1, { error: "is an empty path" });

/** A config field holding a URL of one of `schemes` (such as `"http:"`). */
export function urlField(schemes: readonly string[]): z.ZodType<string> {
  return z.string({ error: (issue) => `${JSON.stringify(issue.input) ?? "missing"} is not a URL` }).refine(
    (text) => {
      try {
        return schemes.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not a URL of ${schemes.map((scheme) => scheme.replace(/:$/, "")).join(" or ")}`,
    },
  );
}

/** A config field holding an HTTP URL, such as the broker's. */
export const httpUrlField: z.ZodType<string> = urlField(["http:", "https:"]);

/** A config field holding an MQTT broker's URL, such as the home bus's. */
export const mqttUrlField: z.ZodType<string> = urlField(["mqtt:", "mqtts:", "tcp:", "ws:", "wss:"]);

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
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, where)));
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

/**
 * Runs `attempt` until it succeeds, pausing between tries (growing up to `mostMs`), and logs once
 * that `what` cannot be reached and once that it is: a service waits for the broker or the nodes
 * instead of failing when it starts before them. An error `transient` says is not passing is thrown.
 * @throws the abort reason when `signal` aborts first.
 */
export async function whenReachable<T>(
  what: string,
  attempt: () => Promise<T>,
  options: {
    readonly logger: Logger;
    readonly signal: AbortSignal;
    readonly transient?: (error: unknown) => boolean;
    readonly mostMs?: number;
  },
): Promise<T> {
  const { logger, signal } = options;
  for (let tries = 0; ; tries++) {
    signal.throwIfAborted();
    try {
      const value = await attempt();
      if (tries > 0) logger.info(`reached ${what}`);
      return value;
    } catch (error) {
      signal.throwIfAborted();
      if (options.transient?.(error) === false) throw error;
      if (tries === 0)
        logger.warn(
          { reason: error instanceof Error ? error.message : String(error) },
          `waiting for ${what}`,
        );
      await sleep(Math.min(options.mostMs ?? 5_000, 100 * 2 ** Math.min(tries, 10)), undefined, {
        signal,
      }).catch(() => undefined);
    }
  }
}

/**
 * Starts a service and runs it until SIGTERM or SIGINT: a signal while it is still starting (waiting
 * for the broker, say) ends the start at once; once started, {@link untilShutdown} stops it gracefully.
 */
export async function runService(
  logger: Logger,
  start: (options: {
    readonly logger: Logger;
    readonly signal: AbortSignal;
  }) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  const starting = new AbortController();
  const abortStart = () => starting.abort();
  process.once("SIGINT", abortStart);
  process.once("SIGTERM", abortStart);
  let service: { stop(): Promise<void> };
  try {
    service = await start({ logger, signal: starting.signal });
  } catch (error) {
    if (starting.signal.aborted) {
      logger.info("stopped while starting");
      logger.flush();
      return;
    }
    throw error;
  } finally {
    process.off("SIGINT", abortStart);
    process.off("SIGTERM", abortStart);
  }
  await untilShutdown(logger, () => service.stop());
}
