/**
 * The broker's HTTP API (Hono, described by `GET /openapi.json`): the health check, the calendar, the
 * public registry, the board's slots, its live updates as server-sent events (numbered, resumed from
 * `Last-Event-ID` or `?after=`, with heartbeats), and the supplier's and the DSO's signed publications
 * of tariffs and network fees. Every refusal is a 4xx with `{error, field?}` naming the field at
 * fault; bodies are limited to 1 MiB and publications per party per minute; a bad request touches
 * nothing else.
 * @module
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { streamSSE } from "hono/streaming";
import type { BlankEnv } from "hono/types";
import type { BillingModel } from "../../billing/types.ts";
import type { RegisteredParty, Registry } from "../../private/registry.ts";
import {
  parseJsonText,
  ValidationError,
  type ValidationIssue,
  validationErrorOf,
} from "../../validation/index.ts";
import { AUTH_HEADER, verifyHttpRequest } from "../http-auth.ts";
import { RequestGuard } from "../mpc-node/signed-request.ts";
import {
  type BoardEvent,
  boardSlotSchema,
  calendarSchema,
  networkPublicationSchema,
  type PublicRegistry,
  publicRegistrySchema,
  tariffPublicationSchema,
} from "./board.ts";
import type { SlotCalendar } from "./calendar.ts";
import type { ServiceLog } from "./market.ts";
import type { BrokerStore } from "./store.ts";

/** The largest request body, bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** The most slots one request of the board may ask for. */
export const MAX_SLOTS_PER_REQUEST = 960;
/** Events read from the store at a time when a client catches up. */
const EVENT_PAGE = 500;

/** The board's live updates within the process: the market tells, each open stream listens. */
export class BoardFeed {
  readonly #listeners = new Set<(event: BoardEvent) => void>();

  publish(event: BoardEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** @returns the function that stops listening. */
  subscribe(listener: (event: BoardEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

export const brokerHealthSchema = z.object({
  service: z.literal("broker"),
  /** `degraded`: a node does not answer (its slots are left to the supplier until it does). */
  status: z.enum(["ok", "degraded"]),
  nodes: z.array(
    z.object({
      party: z.number().int(),
      up: z.boolean(),
      latencyMs: z.number().int().optional(),
      reason: z.string().optional(),
    }),
  ),
  /** The slot in delivery now; null before the first slot starts and after the last ends. */
  slot: z.number().int().nullable(),
});
export type BrokerHealth = z.infer<typeof brokerHealthSchema>;

export interface BrokerApiOptions {
  readonly calendar: SlotCalendar;
  readonly billingModel: BillingModel;
  /** Who may publish (its parties' keys and roles) and what the public registry shows. */
  readonly registry: Registry;
  readonly store: BrokerStore;
  /** The signed requests taken before a restart ({@link BrokerStore.takenRequests}): still refused as replays. */
  readonly takenRequests: readonly [key: string, expiresAtMs: number][];
  readonly feed: BoardFeed;
  /** Told after a publication is stored (the market looks at the board again). */
  readonly onPublished: () => void;
  readonly health: () => Promise<BrokerHealth>;
  readonly log: ServiceLog;
  /** Wall time, ms (the signatures' freshness, the rate limit). */
  readonly now?: () => number;
  /** Publications one party may make per minute (default 60). */
  readonly postsPerMinute?: number;
  /** How often an idle live stream gets a heartbeat comment, ms (default 15 s). */
  readonly heartbeatMs?: number;
}

const errorSchema = z.object({ error: z.string(), field: z.string().optional() });
type ErrorBody = z.infer<typeof errorSchema>;

function errorOf(error: ValidationError): ErrorBody {
  const [first] = error.issues;
  return {
    error: error.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "),
    ...(first === undefined || first.path === "(input)" ? {} : { field: first.path }),
  };
}

/** The error answers of a route, by status, for its description. */
function errors<const S extends readonly (keyof typeof ERROR_TEXT)[]>(
  ...statuses: S
): {
  [K in S[number]]: { content: { "application/json": { schema: typeof errorSchema } }; description: string };
} {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { content: { "application/json": { schema: errorSchema } }, description: ERROR_TEXT[status] },
    ]),
  ) as never;
}
const ERROR_TEXT = {
  400: "a bad request: `field` names the field at fault",
  401: "not signed by a registered party, stale, forged or replayed",
  403: "signed by a party that may not publish this",
  404: "not on the board",
  413: "a body above 1 MiB",
  415: "a body that is not JSON",
  429: "too many publications from this party",
} as const;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** A slot index or an event number as a query or a path gives it. */
const WHOLE_NUMBER = /^\d{1,9}$/;

const indexField = (name: string, where: "query" | "path" = "query") =>
  z
    .string()
    .regex(WHOLE_NUMBER, { error: () => "is not a slot index (a whole number)" })
    .transform(Number)
    .openapi({ param: { name, in: where }, example: "0" });

const publicationAnswerSchema = z.object({
  /** Slots whose publication was stored. */
  stored: z.number().int(),
  /** Slots already on the board with their prices: left as they are. */
  unchanged: z.array(z.string()),
});

/** The broker's API as a Hono app. */
export function brokerApi(options: BrokerApiOptions): OpenAPIHono<BlankEnv> {
  const { calendar, store, feed, log } = options;
  const now = options.now ?? Date.now;
  /** Who signed each publication, once checked. */
  const signers = new WeakMap<Request, RegisteredParty>();
  const app = new OpenAPIHono<BlankEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return c.json(errorOf(validationErrorOf(result.error)), 400);
      return undefined;
    },
  });

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      const status = error.status;
      const message =
        status === 415 ? "the body must be JSON, sent with content-type: application/json" : error.message;
      return c.json({ error: message }, status);
    }
    log.error({ path: c.req.path, reason: error.message }, "the API failed a request");
    return c.json({ error: "the broker failed this request; it is logged" }, 500);
  });
  app.notFound((c) => c.json({ error: `there is no ${c.req.method} ${c.req.path}` }, 404));

  app.openapi(
    createRoute({
      method: "get",
      path: "/health",
      summary: "Whether the broker reaches the nodes, how fast, and the slot in delivery",
      responses: { 200: json(brokerHealthSchema, "the broker's health") },
    }),
    async (c) => c.json(await options.health(), 200),
  );

  const calendarAnswer = { ...calendar.settings, billingModel: options.billingModel };
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/calendar",
      summary: "The slot calendar: slot length, gate, grace, pace, slot 0's start",
      responses: { 200: json(calendarSchema, "the calendar") },
    }),
    (c) => c.json(calendarAnswer, 200),
  );

  const registryAnswer = publicRegistryOf(options.registry);
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/registry",
      summary: "Who is registered: parties, meters and their zones and suppliers, partnerships, zones",
      responses: { 200: json(publicRegistrySchema, "the public registry") },
    }),
    (c) => c.json(registryAnswer, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/slots",
      summary: `The board's slots with index in [from, to), at most ${MAX_SLOTS_PER_REQUEST}`,
      request: {
        query: z
          .object({ from: indexField("from"), to: indexField("to") })
          .superRefine(({ from, to }, context) => {
            if (to < from)
              context.addIssue({ code: "custom", path: ["to"], message: `${to} is before from (${from})` });
            else if (to - from > MAX_SLOTS_PER_REQUEST)
              context.addIssue({
                code: "custom",
                path: ["to"],
                message: `asks for ${to - from} slots; at most ${MAX_SLOTS_PER_REQUEST} per request`,
              });
          }),
      },
      responses: { 200: json(z.array(boardSlotSchema), "the slots on the board, in order"), ...errors(400) },
    }),
    async (c) => {
      const { from, to } = c.req.valid("query");
      return c.json(await store.slots(from, to), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/slots/{index}",
      summary: "One slot of the board",
      request: {
        params: z.object({ index: indexField("index", "path") }),
      },
      responses: { 200: json(boardSlotSchema, "the slot"), ...errors(400, 404) },
    }),
    async (c) => {
      const { index } = c.req.valid("param");
      const record = await store.slot(index);
      return record === null
        ? c.json({ error: `slot ${index} is not on the board` }, 404)
        : c.json(record.board, 200);
    },
  );

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/api/events",
    summary:
      "The board's live updates as server-sent events (`id`: the event's number, `event: slot`, `data`: the " +
      "event as JSON); resumes after `Last-Event-ID` or `?after=`; a comment every 15 s keeps it open",
    request: { query: z.object({ after: indexField("after").optional() }) },
    responses: {
      200: { content: { "text/event-stream": { schema: z.string() } }, description: "the stream" },
      ...errors(400),
    },
  });
  app.get("/api/events", (c) => {
    const header = c.req.header("last-event-id");
    const query = c.req.query("after");
    const [field, text] = header !== undefined ? ["last-event-id", header] : ["after", query];
    if (text !== undefined && !WHOLE_NUMBER.test(text))
      return c.json({ error: `${field}: ${JSON.stringify(text)} is not an event number`, field }, 400);
    return liveUpdates(c, text === undefined ? -1 : Number(text), store, feed, options.heartbeatMs ?? 15_000);
  });

  /** The store's record of the last request id taken, awaited before the request goes on. */
  let taking: Promise<void> = Promise.resolve();
  const guard = new RequestGuard(options.registry, now, (key, expiresAtMs) => {
    taking = store.takeRequest(key, expiresAtMs);
  });
  for (const [key, expiresAtMs] of options.takenRequests) guard.restoreTaken(key, expiresAtMs);
  const limiter = new PostLimiter(options.postsPerMinute ?? 60, now);
  const publisher = (role: "supplier" | "dso", what: string) => [
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `the body is larger than ${MAX_BODY_BYTES} bytes` }, 413),
    }),
    async (c: Context, next: () => Promise<void>) => {
      let body: unknown;
      try {
        body = parseJsonText(await c.req.text());
      } catch (error) {
        return c.json(errorOf(error as ValidationError), 400);
      }
      const verdict = verifyHttpRequest(guard, c.req.method, c.req.path, c.req.header(AUTH_HEADER), body);
      if ("problem" in verdict) return c.json({ error: verdict.problem, field: AUTH_HEADER }, 401);
      await taking;
      const { party } = verdict;
      if (party.role !== role)
        return c.json({ error: `${party.id} is a ${party.role}: only ${what}`, field: AUTH_HEADER }, 403);
      const waitS = limiter.admit(party.id);
      if (waitS !== undefined) {
        c.header("retry-after", String(waitS));
        return c.json(
          {
            error: `${party.id} sent more than ${limiter.perMinute} publications this minute; wait ${waitS} s`,
          },
          429,
        );
      }
      signers.set(c.req.raw, party);
      await next();
      return undefined;
    },
  ];

  const signerOf = (c: Context) => signers.get(c.req.raw) as RegisteredParty;
  /** The slots of a publication as the calendar's indices. @throws {@link ValidationError} naming each bad slot. */
  const indicesOf = (slots: readonly { slot: string }[]): number[] => {
    const issues: { path: string; message: string }[] = [];
    const seen = new Set<number>();
    const indices = slots.map(({ slot }, k) => {
      const index = calendar.indexOf(slot);
      if (index === null)
        issues.push({
          path: `slots[${k}].slot`,
          message: `${slot} is not a slot of the calendar (slots start every ${calendar.settings.slotMinutes} minutes from ${calendar.times(0).slot}${calendar.settings.slots === undefined ? "" : `, ${calendar.settings.slots} of them`})`,
        });
      else if (seen.has(index)) issues.push({ path: `slots[${k}].slot`, message: `${slot} is listed twice` });
      else seen.add(index);
      return index ?? -1;
    });
    if (issues.length > 0) throw new ValidationError(issues);
    return indices;
  };
  /**
   * Takes a publication: its slots must be the calendar's and pass `problemsOf`, else the answer is a
   * 400 naming each bad field; `save` stores it by the slots' indices and gives those left unchanged.
   */
  const publication = async <T extends { slot: string }>(
    c: Context,
    slots: readonly T[],
    problemsOf: (entry: T, k: number) => ValidationIssue[],
    save: (indices: readonly number[]) => Promise<number[]>,
  ) => {
    let indices: number[];
    try {
      indices = indicesOf(slots);
      const issues = slots.flatMap(problemsOf);
      if (issues.length > 0) throw new ValidationError(issues);
    } catch (error) {
      return c.json(errorOf(error as ValidationError), 400);
    }
    const unchanged = await save(indices);
    options.onPublished();
    log.info({ party: signerOf(c).id, path: c.req.path, slots: indices.length }, "published");
    return c.json(
      {
        stored: indices.length - unchanged.length,
        unchanged: unchanged.map((index) => calendar.times(index).slot),
      },
      200,
    );
  };

  /** A signed publication's route: `role` may send `schema` to `path`. */
  const publicationRoute = <S extends z.ZodType>(
    path: string,
    summary: string,
    role: "supplier" | "dso",
    what: string,
    schema: S,
  ) =>
    createRoute({
      method: "post",
      path,
      summary,
      middleware: publisher(role, what),
      request: { body: { required: true, content: { "application/json": { schema } } } },
      responses: {
        200: json(publicationAnswerSchema, "stored"),
        ...errors(400, 401, 403, 413, 415, 429),
      },
    });

  app.openapi(
    publicationRoute(
      "/api/tariffs",
      "The supplier publishes its feed-in and retail prices of coming slots (signed)",
      "supplier",
      "a supplier publishes tariffs",
      tariffPublicationSchema,
    ),
    (c) => {
      const { slots } = c.req.valid("json");
      return publication(
        c,
        slots,
        (entry, k) =>
          entry.feedIn <= entry.retail
            ? []
            : [{ path: `slots[${k}].feedIn`, message: `${entry.feedIn} is above retail (${entry.retail})` }],
        (indices) =>
          store.publishTariffs(
            signerOf(c).id,
            slots.map((entry, k) => ({
              index: indices[k] as number,
              feedIn: entry.feedIn,
              retail: entry.retail,
            })),
          ),
      );
    },
  );

  const zoneIds = new Set(options.registry.zones?.map((zone) => zone.id) ?? []);
  app.openapi(
    publicationRoute(
      "/api/network",
      "The DSO publishes its network fee and zone limits of coming slots (signed)",
      "dso",
      "the DSO publishes network fees and limits",
      networkPublicationSchema,
    ),
    (c) => {
      const { slots } = c.req.valid("json");
      return publication(
        c,
        slots,
        (entry, k) =>
          (entry.zoneLimits ?? []).flatMap((zone, z) =>
            zoneIds.has(zone.id)
              ? []
              : [{ path: `slots[${k}].zoneLimits[${z}].id`, message: `${zone.id} is not a registered zone` }],
          ),
        (indices) =>
          store.publishNetwork(
            slots.map((entry, k) => ({
              index: indices[k] as number,
              networkFee: entry.networkFee,
              ...(entry.zoneLimits === undefined ? {} : { zoneLimits: entry.zoneLimits }),
            })),
          ),
      );
    },
  );

  app.doc("/openapi.json", {
    openapi: "3.0.0",
    info: {
      title: "snippet broker",
      version: "1",
      description:
        "The community platform's API: the slot calendar, the public registry, the board of each slot's public " +
        "figures with its live updates, and the supplier's and DSO's signed publications. POSTs are signed with " +
        `the party's registry key in the ${AUTH_HEADER} header (src/roles/http-auth.ts).`,
    },
  });
  return app;
}

/** The registry as the public sees it: no key. */
function publicRegistryOf(registry: Registry): PublicRegistry {
  return {
    minGroupMeters: registry.minGroupMeters,
    parties: [...registry.parties.values()].map(({ id, role, zone }) => ({
      id,
      role,
      ...(zone === undefined ? {} : { zone }),
    })),
    meters: [...registry.meters.values()].map(({ id, household, zone, supplier }) => ({
      id,
      household,
      zone,
      supplier,
    })),
    pairs: registry.pairs.map(({ seller, buyer }) => ({ seller, buyer })),
    ...(registry.zones === undefined ? {} : { zones: registry.zones.map((zone) => ({ ...zone })) }),
  };
}

/**
 * A client's live updates: the events after `after` from the store, then each new one as the market
 * stores it (listened for before the store is read, so that none falls between), with a comment
 * when idle for `heartbeatMs`.
 */
function liveUpdates(
  c: Context,
  after: number,
  store: BrokerStore,
  feed: BoardFeed,
  heartbeatMs: number,
): Response {
  return streamSSE(c, async (stream) => {
    const waiting: BoardEvent[] = [];
    let wake: () => void = () => undefined;
    const stop = feed.subscribe((event) => {
      waiting.push(event);
      wake();
    });
    stream.onAbort(() => {
      stop();
      wake();
    });
    let last = after;
    const send = async (event: BoardEvent) => {
      if (event.seq <= last) return;
      await stream.writeSSE({ id: String(event.seq), event: "slot", data: JSON.stringify(event) });
      last = event.seq;
    };
    try {
      for (let page = await store.events(last, EVENT_PAGE); ; page = await store.events(last, EVENT_PAGE)) {
        for (const event of page) await send(event);
        if (page.length < EVENT_PAGE || stream.aborted) break;
      }
      while (!stream.aborted) {
        const event = waiting.shift();
        if (event !== undefined) {
          await send(event);
          continue;
        }
        const woken = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), heartbeatMs);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        if (!woken && !stream.aborted) await stream.write(": heartbeat\n\n");
      }
    } finally {
      stop();
    }
  });
}

/** At most `perMinute` requests per party in each minute of the clock. */
class PostLimiter {
  readonly #windows = new Map<string, { minute: number; count: number }>();

  constructor(
    readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** @returns undefined when the party may go on, else the seconds until it may. */
  admit(party: string): number | undefined {
    const nowMs = this.now();
    const minute = Math.floor(nowMs / 60_000);
    const window = this.#windows.get(party);
    if (window === undefined || window.minute !== minute) {
      this.#windows.set(party, { minute, count: 1 });
      return undefined;
    }
    if (window.count >= this.perMinute) return Math.ceil(((minute + 1) * 60_000 - nowMs) / 1000);
    window.count += 1;
    return undefined;
  }
}
