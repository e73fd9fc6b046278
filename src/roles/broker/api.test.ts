import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openSlot } from "../../../test/support/broker-store.contract.ts";
import { generateRawKeyPair, privateKeyFromHex, type Signer } from "../../private/keys.ts";
import { DSO_ID, generateRegistry, parseRegistry, signerOf } from "../../private/registry.ts";
import { openPgliteDriver } from "../../store/pglite.ts";
import { AUTH_HEADER, signHttpRequest } from "../http-auth.ts";
import { BoardFeed, type BrokerApiOptions, type BrokerHealth, brokerApi, MAX_BODY_BYTES } from "./api.ts";
import type { BoardEvent } from "./board.ts";
import { SlotCalendar } from "./calendar.ts";
import { type BrokerStore, brokerStoreOn } from "./store.ts";

const GENERATED = generateRegistry({
  households: [
    { id: "h0", zone: "hill", supplier: "s0" },
    { id: "h1", zone: "vale", supplier: "s0" },
  ],
  partners: [{ seller: "h0", buyers: ["h1"] }],
  zones: [
    { id: "hill", exportLimitWh: 900, importLimitWh: 900 },
    { id: "vale", exportLimitWh: 900, importLimitWh: 900 },
  ],
});
const REGISTRY = parseRegistry(GENERATED.file);
const signer = (party: string) => signerOf(GENERATED.keys, party);
const ORIGIN_MS = Date.parse("2026-06-01T00:00:00Z");
const CALENDAR = new SlotCalendar({
  slotMinutes: 15,
  gateMinutes: 5,
  graceMinutes: 5,
  speed: 60,
  originMs: ORIGIN_MS,
  wallAtOriginMs: Date.now(),
  slots: 96,
});
const slotAt = (index: number) => CALENDAR.times(index).slot;
const HEALTH: BrokerHealth = {
  service: "broker",
  status: "degraded",
  nodes: [
    { party: 0, up: true, latencyMs: 2 },
    { party: 1, up: false, reason: "connect ECONNREFUSED 127.0.0.1:9" },
    { party: 2, up: true, latencyMs: 3 },
  ],
  slot: 4,
};

let store: BrokerStore;
let feed: BoardFeed;
let published = 0;
let app: ReturnType<typeof brokerApi>;

/** The API on the test's store and feed, with `changes` to its options. */
const apiWith = (changes: Partial<BrokerApiOptions>) =>
  brokerApi({
    calendar: CALENDAR,
    billingModel: "ucs-uniform",
    registry: REGISTRY,
    store,
    takenRequests: [],
    feed,
    onPublished: () => undefined,
    health: async () => HEALTH,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    ...changes,
  });

before(async () => {
  store = await brokerStoreOn(await openPgliteDriver(), "memory");
  feed = new BoardFeed();
  app = apiWith({
    onPublished: () => {
      published += 1;
    },
    postsPerMinute: 1000,
    heartbeatMs: 50,
  });
});
after(() => store?.close());

/** A POST of `body` (JSON text as it is, when a string) to `path`, signed by `by` unless told otherwise. */
function post(
  path: string,
  body: unknown,
  options: { by?: Signer; header?: string; contentType?: string | null; signedPath?: string } = {},
) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = {};
  if (options.contentType !== null) headers["content-type"] = options.contentType ?? "application/json";
  const header =
    options.header ??
    (options.by === undefined
      ? undefined
      : signHttpRequest(
          "POST",
          options.signedPath ?? path,
          typeof body === "string" ? null : body,
          options.by,
        ));
  if (header !== undefined) headers[AUTH_HEADER] = header;
  return app.request(path, { method: "POST", headers, body: text });
}

const tariffs = (index: number, feedIn = 500, retail = 2000) => ({
  slots: [{ slot: slotAt(index), feedIn, retail }],
});

describe("the broker's API", () => {
  it("serves the calendar, the public registry without keys, the health check and its OpenAPI description", async () => {
    const calendar = await (await app.request("/api/calendar")).json();
    assert.deepEqual(calendar, { ...CALENDAR.settings, billingModel: "ucs-uniform" });
    const registry = (await (await app.request("/api/registry")).json()) as Record<string, unknown>;
    assert.deepEqual(registry.pairs, [{ seller: "h0", buyer: "h1" }]);
    assert.deepEqual(registry.meters, [
      { id: "meter-h0", household: "h0", zone: "hill", supplier: "s0" },
      { id: "meter-h1", household: "h1", zone: "vale", supplier: "s0" },
    ]);
    assert.ok(!JSON.stringify(registry).includes("signingKey"));
    assert.deepEqual(await (await app.request("/health")).json(), HEALTH);
    const document = (await (await app.request("/openapi.json")).json()) as {
      paths: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(document.paths).sort(), [
      "/api/calendar",
      "/api/events",
      "/api/network",
      "/api/registry",
      "/api/slots",
      "/api/slots/{index}",
      "/api/tariffs",
      "/health",
    ]);
  });

  it("stores a supplier's and the DSO's signed publications, and leaves the slots already priced on the board", async () => {
    const before = published;
    const answer = await post(
      "/api/tariffs",
      { slots: [0, 1, 2].map((index) => ({ slot: slotAt(index), feedIn: 500 + index, retail: 2000 })) },
      { by: signer("s0") },
    );
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { stored: 3, unchanged: [] });
    const zoneLimits = [{ id: "hill", exportLimitWh: 400, importLimitWh: 500 }];
    const network = await post(
      "/api/network",
      { slots: [{ slot: slotAt(1), networkFee: 300, zoneLimits }] },
      { by: signer(DSO_ID) },
    );
    assert.equal(network.status, 200);
    assert.equal(published, before + 2, "the market is told each time");
    assert.deepEqual(await store.tariffs(1), {
      supplier: { feedIn: 501, retail: 2000 },
      network: { networkFee: 300, zoneLimits },
    });
    await store.update(2, () => ({ board: openSlot(2), meteringClosed: false }));
    const again = await post(
      "/api/tariffs",
      { slots: [1, 2].map((index) => ({ slot: slotAt(index), feedIn: 1, retail: 2 })) },
      { by: signer("s0") },
    );
    assert.deepEqual(await again.json(), { stored: 1, unchanged: [slotAt(2)] });
    assert.deepEqual((await store.tariffs(2)).supplier, { feedIn: 502, retail: 2000 });
  });

  it("refuses every bad request with a 4xx naming the field, and stores nothing of it", async () => {
    const body = tariffs(40);
    const replayed = signHttpRequest("POST", "/api/tariffs", body, signer("s0"));
    assert.equal((await post("/api/tariffs", body, { header: replayed })).status, 200);
    const stranger = { party: "s0", key: privateKeyFromHex(generateRawKeyPair().privateHex) };
    const cases: [string, () => Response | Promise<Response>, number, string | undefined, RegExp][] = [
      ["unsigned", () => post("/api/tariffs", tariffs(50)), 401, AUTH_HEADER, /the request is not signed/],
      [
        "signed by a key not the party's",
        () => post("/api/tariffs", tariffs(50), { by: stranger }),
        401,
        AUTH_HEADER,
        /not signed by s0/,
      ],
      [
        "signed for another body",
        () =>
          post("/api/tariffs", tariffs(50), {
            header: signHttpRequest("POST", "/api/tariffs", tariffs(51), signer("s0")),
          }),
        401,
        AUTH_HEADER,
        /not signed by s0/,
      ],
      [
        "signed for another path",
        () => post("/api/tariffs", tariffs(50), { by: signer("s0"), signedPath: "/api/network" }),
        401,
        AUTH_HEADER,
        /not signed by s0/,
      ],
      ["replayed", () => post("/api/tariffs", body, { header: replayed }), 401, AUTH_HEADER, /a replay/],
      [
        "stale",
        () =>
          post("/api/tariffs", tariffs(50), {
            header: signHttpRequest("POST", "/api/tariffs", tariffs(50), signer("s0"), Date.now() - 600_000),
          }),
        401,
        AUTH_HEADER,
        /signed 600 s ago/,
      ],
      [
        "an unregistered party",
        () => post("/api/tariffs", tariffs(50), { by: { party: "s9", key: stranger.key } }),
        401,
        AUTH_HEADER,
        /party s9 is not registered/,
      ],
      [
        "a malformed signature header",
        () => post("/api/tariffs", tariffs(50), { header: "{" }),
        401,
        AUTH_HEADER,
        /x-snippet-auth is malformed/,
      ],
      [
        "tariffs from the DSO",
        () => post("/api/tariffs", tariffs(50), { by: signer(DSO_ID) }),
        403,
        AUTH_HEADER,
        /dso is a dso: only a supplier publishes tariffs/,
      ],
      [
        "tariffs from a household",
        () => post("/api/tariffs", tariffs(50), { by: signer("h0") }),
        403,
        AUTH_HEADER,
        /h0 is a household/,
      ],
      [
        "network fees from the supplier",
        () => post("/api/network", { slots: [{ slot: slotAt(50), networkFee: 1 }] }, { by: signer("s0") }),
        403,
        AUTH_HEADER,
        /only the DSO publishes network fees/,
      ],
      [
        "not JSON",
        () => post("/api/tariffs", '{"slots": [', { by: signer("s0") }),
        400,
        undefined,
        /is not valid JSON/,
      ],
      [
        "without content type",
        () => post("/api/tariffs", tariffs(50), { by: signer("s0"), contentType: null }),
        415,
        undefined,
        /must be JSON/,
      ],
      [
        "above 1 MiB",
        () => post("/api/tariffs", { slots: [], padding: "x".repeat(MAX_BODY_BYTES) }, { by: signer("s0") }),
        413,
        undefined,
        /larger than 1048576 bytes/,
      ],
      [
        "feed-in above retail",
        () => post("/api/tariffs", tariffs(50, 2100, 2000), { by: signer("s0") }),
        400,
        "slots[0].feedIn",
        /2100 is above retail \(2000\)/,
      ],
      [
        "a price off the grid",
        () => post("/api/tariffs", tariffs(50, 500, 70_000), { by: signer("s0") }),
        400,
        "slots[0].retail",
        /70000 is above the 16-bit price grid/,
      ],
      [
        "a time between slots",
        () =>
          post(
            "/api/tariffs",
            { slots: [{ slot: "2026-06-01T00:07:00Z", feedIn: 1, retail: 2 }] },
            { by: signer("s0") },
          ),
        400,
        "slots[0].slot",
        /is not a slot of the calendar \(slots start every 15 minutes from 2026-06-01T00:00:00.000Z, 96 of them\)/,
      ],
      [
        "a slot past the calendar's end",
        () => post("/api/tariffs", tariffs(96), { by: signer("s0") }),
        400,
        "slots[0].slot",
        /is not a slot of the calendar/,
      ],
      [
        "a slot twice",
        () =>
          post("/api/tariffs", { slots: [tariffs(50).slots[0], tariffs(50).slots[0]] }, { by: signer("s0") }),
        400,
        "slots[1].slot",
        /is listed twice/,
      ],
      [
        "no slot",
        () => post("/api/tariffs", { slots: [] }, { by: signer("s0") }),
        400,
        "slots",
        /lists no slot/,
      ],
      [
        "an unknown field",
        () => post("/api/tariffs", { slots: [{ ...tariffs(50).slots[0], vat: 19 }] }, { by: signer("s0") }),
        400,
        "slots[0]",
        /unknown field "vat"/,
      ],
      [
        "an unregistered zone",
        () =>
          post(
            "/api/network",
            {
              slots: [
                {
                  slot: slotAt(50),
                  networkFee: 1,
                  zoneLimits: [{ id: "moor", exportLimitWh: 1, importLimitWh: 1 }],
                },
              ],
            },
            { by: signer(DSO_ID) },
          ),
        400,
        "slots[0].zoneLimits[0].id",
        /moor is not a registered zone/,
      ],
      [
        "slots from after to",
        () => app.request("/api/slots?from=5&to=2"),
        400,
        "to",
        /2 is before from \(5\)/,
      ],
      [
        "too many slots",
        () => app.request("/api/slots?from=0&to=961"),
        400,
        "to",
        /asks for 961 slots; at most 960/,
      ],
      [
        "a slot range that is no number",
        () => app.request("/api/slots?from=abc&to=2"),
        400,
        "from",
        /is not a slot index/,
      ],
      ["a slot range without from", () => app.request("/api/slots?to=2"), 400, "from", /.+/],
      [
        "a slot index that is no number",
        () => app.request("/api/slots/x1"),
        400,
        "index",
        /is not a slot index/,
      ],
      [
        "a slot not on the board",
        () => app.request("/api/slots/77"),
        404,
        undefined,
        /slot 77 is not on the board/,
      ],
      [
        "an event number that is no number",
        () => app.request("/api/events?after=-1"),
        400,
        "after",
        /"-1" is not an event number/,
      ],
      [
        "a route that does not exist",
        () => app.request("/api/bills"),
        404,
        undefined,
        /there is no GET \/api\/bills/,
      ],
    ];
    for (const [what, request, status, field, error] of cases) {
      const response = await request();
      const answer = (await response.json()) as { error: string; field?: string };
      assert.equal(response.status, status, `${what}: ${JSON.stringify(answer)}`);
      assert.match(answer.error, error, what);
      assert.equal(answer.field, field, `${what}: the field`);
    }
    for (const index of [50, 51, 96]) assert.deepEqual(await store.tariffs(index), {}, `slot ${index}`);
    assert.deepEqual(
      (await store.tariffs(40)).supplier,
      { feedIn: 500, retail: 2000 },
      "the genuine one only",
    );
  });

  it("refuses a request replayed to a broker restarted since, from the ids its store keeps", async () => {
    const body = tariffs(70);
    const header = signHttpRequest("POST", "/api/tariffs", body, signer("s0"));
    assert.equal((await post("/api/tariffs", body, { header })).status, 200);
    const restarted = apiWith({ takenRequests: await store.takenRequests(Date.now()) });
    const replay = await restarted.request("/api/tariffs", {
      method: "POST",
      headers: { "content-type": "application/json", [AUTH_HEADER]: header },
      body: JSON.stringify(body),
    });
    assert.equal(replay.status, 401);
    assert.match(((await replay.json()) as { error: string }).error, /a replay/);
  });

  it("limits publications per party per minute, and tells when to come back", async () => {
    const limited = apiWith({ postsPerMinute: 2, now: () => ORIGIN_MS + 15_000 });
    const send = (by: Signer, index: number) =>
      limited.request("/api/tariffs", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [AUTH_HEADER]: signHttpRequest("POST", "/api/tariffs", tariffs(index), by, ORIGIN_MS + 15_000),
        },
        body: JSON.stringify(tariffs(index)),
      });
    assert.equal((await send(signer("s0"), 60)).status, 200);
    assert.equal((await send(signer("s0"), 61)).status, 200);
    const refused = await send(signer("s0"), 62);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("retry-after"), "45");
    assert.match(
      ((await refused.json()) as { error: string }).error,
      /s0 sent more than 2 publications this minute; wait 45 s/,
    );
    assert.deepEqual(await store.tariffs(62), {});
  });

  it("streams the board's events from after the last one a client saw, then each new one, with heartbeats", async () => {
    const first = (await store.events(-1, 1000)).length;
    const events: BoardEvent[] = [];
    for (const index of [10, 11, 12]) {
      const event = await store.update(index, () => ({ board: openSlot(index), meteringClosed: false }));
      events.push(event as BoardEvent);
    }
    const read = async (response: Response, until: (text: string) => boolean) => {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = "";
      while (!until(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      return text;
    };
    const ids = (text: string) => [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
    const resumed = await app.request("/api/events", { headers: { "last-event-id": String(first) } });
    assert.equal(resumed.status, 200);
    assert.match(resumed.headers.get("content-type") ?? "", /text\/event-stream/);
    const live = await store.update(13, () => ({ board: openSlot(13), meteringClosed: false }));
    feed.publish(live as BoardEvent);
    const text = await read(
      resumed,
      (sofar) => ids(sofar).includes((live as BoardEvent).seq) && sofar.includes(": heartbeat"),
    );
    assert.deepEqual(ids(text), [first + 1, first + 2, (live as BoardEvent).seq]);
    const data = [...text.matchAll(/^data: (.*)$/gm)].map((match) => JSON.parse(match[1] as string));
    assert.deepEqual(data[0], events[1]);
    assert.match(text, /^event: slot$/m);
    const fromQuery = await read(
      await app.request(`/api/events?after=${first + 1}`),
      (sofar) => ids(sofar).length >= 2,
    );
    assert.deepEqual(ids(fromQuery).slice(0, 2), [first + 2, (live as BoardEvent).seq]);
  });
});
