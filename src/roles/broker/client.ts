/**
 * The broker's HTTP API as the other roles call it: the calendar, the public registry, the board's
 * slots, the live updates (server-sent events, resumed after a dropped connection from the last event
 * seen), and the supplier's and DSO's signed publications. Every answer is checked against the board's
 * schemas, so a role never acts on a malformed board.
 * @module
 */
import { createParser } from "eventsource-parser";
import type { ZodType } from "zod";
import type { Signer } from "../../private/keys.ts";
import { parseWith } from "../../validation/index.ts";
import { AUTH_HEADER, signHttpRequest } from "../http-auth.ts";
import {
  type BoardEvent,
  type BoardSlot,
  boardEventSchema,
  boardSlotSchema,
  type Calendar,
  calendarSchema,
  type NetworkPublication,
  type PublicRegistry,
  publicRegistrySchema,
  type TariffPublication,
} from "./board.ts";

/** The broker refused a request or could not be reached; the message says why. */
export class BrokerError extends Error {
  override readonly name = "BrokerError";
  constructor(
    message: string,
    /** The HTTP status, or 0 when the broker could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** How long a client waits before it reconnects to the live updates, ms. */
const RECONNECT_MS = 500;

export class BrokerClient {
  readonly #base: string;

  /** @param url the broker's base URL, such as `http://127.0.0.1:8080`. */
  constructor(url: string) {
    this.#base = url.replace(/\/+$/, "");
  }

  get url(): string {
    return this.#base;
  }

  calendar(): Promise<Calendar> {
    return this.#get("/api/calendar", calendarSchema);
  }

  registry(): Promise<PublicRegistry> {
    return this.#get("/api/registry", publicRegistrySchema);
  }

  /** A slot of the board by index, or null while it is not on the board. */
  async slot(index: number): Promise<BoardSlot | null> {
    try {
      return await this.#get(`/api/slots/${index}`, boardSlotSchema);
    } catch (error) {
      if (error instanceof BrokerError && error.status === 404) return null;
      throw error;
    }
  }

  /** The board's slots with index in `[from, to)`, in order. */
  slots(from: number, to: number): Promise<BoardSlot[]> {
    return this.#get(`/api/slots?from=${from}&to=${to}`, boardSlotSchema.array());
  }

  publishTariffs(signer: Signer, publication: TariffPublication): Promise<void> {
    return this.#post("/api/tariffs", publication, signer);
  }

  publishNetwork(signer: Signer, publication: NetworkPublication): Promise<void> {
    return this.#post("/api/network", publication, signer);
  }

  /**
   * The live updates from the event after `after` (from the first without it), until `signal` aborts.
   * A dropped connection is dialled again and resumes after the last event received; events arrive
   * in order, each once.
   */
  async *events(options: { after?: number; signal: AbortSignal }): AsyncGenerator<BoardEvent> {
    let last = options.after ?? -1;
    while (!options.signal.aborted) {
      const pending: BoardEvent[] = [];
      let problem: unknown;
      const parser = createParser({
        onEvent: (message) => {
          try {
            const event = parseWith(boardEventSchema, JSON.parse(message.data));
            if (event.seq > last) pending.push(event);
          } catch (error) {
            problem = error;
          }
        },
      });
      try {
        const response = await fetch(`${this.#base}/api/events`, {
          headers: { accept: "text/event-stream", ...(last >= 0 ? { "last-event-id": String(last) } : {}) },
          signal: options.signal,
        });
        if (!response.ok || response.body === null)
          throw new BrokerError(
            `the broker refused the live updates (HTTP ${response.status})`,
            response.status,
          );
        const decoder = new TextDecoder();
        for await (const chunk of response.body) {
          parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
          if (problem !== undefined) throw problem;
          for (const event of pending.splice(0)) {
            last = event.seq;
            yield event;
          }
        }
      } catch (error) {
        if (options.signal.aborted) return;
        if (error instanceof BrokerError && error.status >= 400 && error.status < 500) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  async #get<T>(path: string, schema: ZodType<T>): Promise<T> {
    return parseWith(schema, await this.#send("GET", path));
  }

  async #post(path: string, body: unknown, signer: Signer): Promise<void> {
    await this.#send("POST", path, body, signer);
  }

  async #send(method: string, path: string, body?: unknown, signer?: Signer): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (signer !== undefined) headers[AUTH_HEADER] = signHttpRequest(method, path, body, signer);
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
      throw new BrokerError(`the broker at ${this.#base} cannot be reached (${cause})`, 0);
    }
    const text = await response.text();
    const answer: unknown = text.length === 0 ? null : JSON.parse(text);
    if (!response.ok) {
      const reason = (answer as { error?: unknown } | null)?.error;
      throw new BrokerError(
        `the broker refused ${method} ${path} (HTTP ${response.status}): ${typeof reason === "string" ? reason : text}`,
        response.status,
      );
    }
    return answer;
  }
}
