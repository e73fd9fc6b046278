/**
 * A household device's connection to the three nodes, shared by every home a process hosts (as homes
 * share a network, not their keys): dialled when first needed, dialled again after it broke, and
 * telling a node that cannot be reached (retry later) from a node that refused (do not).
 * @module
 */
import type { Logger } from "pino";
import { describeError } from "../../validation/index.ts";
import { NodeClient } from "../mpc-node/client.ts";
import type { NodeConfig } from "../mpc-node/config.ts";

/** The nodes could not be reached, or the connection broke: the request may be made again later. */
export class NodesUnreachable extends Error {
  override readonly name = "NodesUnreachable";
}

/** After a failed dial, requests fail at once for this long instead of dialling again, ms. */
const REDIAL_AFTER_MS = 1_000;

export class NodeLink {
  #client: Promise<NodeClient> | undefined;
  /** The connection once dialled. */
  #current: NodeClient | undefined;
  #failedUntilMs = 0;
  #failure: NodesUnreachable | undefined;
  #closed = false;

  constructor(
    private readonly config: NodeConfig,
    private readonly log: Logger,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * Runs `work` on the connection.
   * @throws {@link NodesUnreachable} when the nodes cannot be reached or the connection broke during
   * `work` (it is dialled again for the next request); any other error as `work` threw it (a refusal).
   */
  async use<T>(work: (client: NodeClient) => Promise<T>): Promise<T> {
    const client = await this.#connected();
    try {
      return await work(client);
    } catch (error) {
      if (!client.broken) throw error;
      this.#drop(client);
      throw new NodesUnreachable(`the connection to the nodes broke (${describeError(error)})`, {
        cause: error,
      });
    }
  }

  /** Whether a connection is open now. */
  get connected(): boolean {
    return this.#current !== undefined;
  }

  close(): void {
    this.#closed = true;
    void this.#client?.then(
      (client) => client.close(),
      () => undefined,
    );
    this.#client = undefined;
    this.#current = undefined;
  }

  #connected(): Promise<NodeClient> {
    if (this.#closed) return Promise.reject(new NodesUnreachable("the connection to the nodes is closed"));
    if (this.#client !== undefined) return this.#client;
    if (this.#failure !== undefined && this.nowMs() < this.#failedUntilMs)
      return Promise.reject(this.#failure);
    const dialling = NodeClient.connect(this.config).then(
      (client) => {
        if (this.#failure !== undefined) this.log.info("the nodes are reachable again");
        this.#failure = undefined;
        this.#current = client;
        return client;
      },
      (error: unknown) => {
        const failure = new NodesUnreachable(`the nodes cannot be reached (${describeError(error)})`, {
          cause: error,
        });
        if (this.#failure === undefined) this.log.warn(`${failure.message}; retrying`);
        this.#failure = failure;
        this.#failedUntilMs = this.nowMs() + REDIAL_AFTER_MS;
        this.#client = undefined;
        throw failure;
      },
    );
    this.#client = dialling;
    return dialling;
  }

  /** Drops a broken connection (once: the homes that used it all come here), so the next request dials again. */
  #drop(client: NodeClient): void {
    client.close();
    if (this.#current !== client) return;
    this.log.warn("the connection to the nodes broke; dialling again");
    this.#current = undefined;
    this.#client = undefined;
  }
}
