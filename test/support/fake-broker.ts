/**
 * A stand-in for the broker's HTTP API in tests of the roles that call it: it serves a calendar and
 * a board whose live updates the test pushes, and takes the supplier's and the DSO's signed
 * publications, checking each signature against the registry as the broker does.
 * @module
 */
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Registry } from "../../src/private/registry.ts";
import type {
  BoardEvent,
  BoardSlot,
  Calendar,
  NetworkPublication,
  TariffPublication,
} from "../../src/roles/broker/board.ts";
import { AUTH_HEADER, verifyHttpRequest } from "../../src/roles/http-auth.ts";
import { RequestGuard } from "../../src/roles/mpc-node/signed-request.ts";
import { type HttpServer, serveHttp } from "../../src/roles/service.ts";

/** A publication the fake took, with who signed it. */
export interface Taken<T> {
  readonly party: string;
  readonly publication: T;
}

export class FakeBroker {
  readonly tariffs: Taken<TariffPublication>[] = [];
  readonly network: Taken<NetworkPublication>[] = [];
  /** Requests refused, with the reason. */
  readonly refused: string[] = [];
  readonly #events: BoardEvent[] = [];
  readonly #listeners = new Set<() => void>();
  #server: HttpServer | undefined;

  constructor(
    readonly calendar: Calendar,
    registry: Registry,
  ) {
    this.app = this.#build(new RequestGuard(registry, Date.now));
  }

  readonly app: Hono;

  get url(): string {
    return `http://127.0.0.1:${this.#server?.port}`;
  }

  async start(): Promise<this> {
    this.#server = await serveHttp(this.app, { host: "127.0.0.1", port: 0 });
    return this;
  }

  close(): Promise<void> {
    return this.#server?.close() ?? Promise.resolve();
  }

  /** Puts a slot on the board as it now stands: one live update. */
  push(slot: BoardSlot): void {
    this.#events.push({ seq: this.#events.length, type: "slot", slot });
    for (const listener of this.#listeners) listener();
  }

  #build(guard: RequestGuard): Hono {
    const publication =
      <T>(path: string, into: Taken<T>[]) =>
      async (c: Context) => {
        const body: unknown = await c.req.json();
        const checked = verifyHttpRequest(guard, "POST", path, c.req.header(AUTH_HEADER), body);
        if ("problem" in checked) {
          this.refused.push(checked.problem);
          return c.json({ error: checked.problem }, 401);
        }
        into.push({ party: checked.party.id, publication: body as T });
        return c.json({ ok: true });
      };
    return new Hono()
      .get("/api/calendar", (c) => c.json(this.calendar))
      .post("/api/tariffs", publication("/api/tariffs", this.tariffs))
      .post("/api/network", publication("/api/network", this.network))
      .get("/api/events", (c) => {
        const header = c.req.header("last-event-id") ?? c.req.query("after");
        let next = header === undefined ? 0 : Number(header) + 1;
        return streamSSE(c, async (stream) => {
          let wake: (() => void) | undefined;
          const listener = () => wake?.();
          this.#listeners.add(listener);
          stream.onAbort(() => {
            this.#listeners.delete(listener);
            wake?.();
          });
          while (!stream.aborted) {
            for (; next < this.#events.length; next++) {
              const event = this.#events[next] as BoardEvent;
              await stream.writeSSE({ id: String(event.seq), event: "slot", data: JSON.stringify(event) });
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
          this.#listeners.delete(listener);
        });
      });
  }
}
