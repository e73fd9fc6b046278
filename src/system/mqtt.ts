/**
 * An embedded MQTT broker (aedes) for the home bus of a demo or a test: homes publish their meter
 * readings on it and the meter service takes them. Its persistence is aedes' default, in memory: a
 * QoS 1 message for a persistent session (clean: false) whose subscriber is offline is kept until it
 * reconnects, for as long as this process runs. A deployment uses any MQTT broker (Mosquitto…).
 * @module
 */
import { createServer, type Socket } from "node:net";
import { Aedes } from "aedes";
import { listenError } from "./errors.ts";

/** A running embedded broker. */
export interface EmbeddedMqtt {
  /** `mqtt://host:port`, for clients. */
  readonly url: string;
  readonly port: number;
  /** Stops listening, drops every connection and closes the broker. */
  close(): Promise<void>;
}

/**
 * Starts an MQTT broker on `host:port` (port 0: any free port).
 * @throws {@link listenError}'s operational error, naming the cause, when the port is taken or the host is not local.
 */
export async function startEmbeddedMqtt(where: { host: string; port: number }): Promise<EmbeddedMqtt> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, where, "MQTT")));
      server.listen(where.port, where.host, () => resolve());
    });
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : where.port;
  const host = where.host.includes(":") ? `[${where.host}]` : where.host;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
