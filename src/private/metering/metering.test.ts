import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { runParties, seededWords } from "../../../test/support/mpc.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import { aboveCapacity, estimatedReading, implausibility } from "../../billing/index.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { type NodeShares, reconstruct } from "../../mpc/client.ts";
import type { PartyId } from "../../mpc/transport/types.ts";
import { MAX_ENERGY_WH } from "../../units/index.ts";
import { KeptBills } from "../billing/kept.ts";
import type { JobContext } from "../context.ts";
import { parseRegistry, type Registry } from "../registry.ts";
import type { SealedForNode } from "../sealed.ts";
import { openReading, sealReading } from "./envelope.ts";
import { MeterIntake, type MeteringClosed } from "./intake.ts";
import { OUTSIDE_RANGE } from "./plausibility.ts";
import {
  type MeterReadingsPublic,
  type MeterTotalsPublic,
  meterCloseProgram,
  meterReadingsProgram,
  meterTotalsProgram,
} from "./program.ts";

const SLOT = "2026-06-01T12:00:00Z";
const NEXT_SLOT = "2026-06-01T12:15:00Z";

const keys = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
function keyOf(meter: string) {
  let pair = keys.get(meter);
  if (pair === undefined) {
    pair = generateKeyPairSync("ed25519");
    keys.set(meter, pair);
  }
  return pair;
}

const rawPublic = (key: KeyObject) =>
  Buffer.from(key.export({ format: "jwk" }).x as string, "base64url").toString("hex");

/** What the DSO registered of a meter's connection: its trading cap and physical capacity, Wh per slot. */
interface Connection {
  readonly connectionCapWh?: number;
  readonly physicalCapacityWh?: number;
}

/** A connection with the physical capacity `capacityWh`, or none known. */
const capacity = (capacityWh: number | undefined): Connection =>
  capacityWh === undefined ? {} : { physicalCapacityWh: capacityWh };

/**
 * Meters m0… with households h0…, in zones z0 / z1 (alternating) and with suppliers s0 / s1 (every
 * third meter is s1's), each with its connection from `connections` where it has one; parties: the
 * operator, the DSO, both suppliers and every household.
 */
function registry(
  meters: readonly string[],
  minGroupMeters = 1,
  connections: readonly Connection[] = [],
): Registry {
  const party = (id: string, role: string) => ({ id, role, signingKey: rawPublic(keyOf(id).publicKey) });
  return parseRegistry({
    minGroupMeters,
    parties: [
      party("operator", "operator"),
      party("dso", "dso"),
      party("s0", "supplier"),
      party("s1", "supplier"),
      ...meters.map((_, m) => party(`h${m}`, "household")),
    ],
    meters: meters.map((id, m) => ({
      id,
      household: `h${m}`,
      zone: `z${m % 2}`,
      supplier: m % 3 === 2 ? "s1" : "s0",
      signingKey: rawPublic(keyOf(id).publicKey),
      ...connections[m],
    })),
  });
}

/** A node's intake takes one node's part of a sealed reading: null, or why it refused it. */
const take = (intake: MeterIntake, sealed: SealedForNode | undefined) =>
  intake.accept(sealed?.header, sealed?.body ?? new Uint8Array(0))?.reason ?? null;

/** What the intake's refusal code is (a meter settles a held or a late reading by it). */
const codeOf = (intake: MeterIntake, sealed: SealedForNode | undefined) =>
  intake.accept(sealed?.header, sealed?.body ?? new Uint8Array(0))?.code;

/** A sealed reading with its header changed. */
const withHeader = (sealed: SealedForNode, change: Record<string, unknown>): SealedForNode => ({
  ...sealed,
  header: { ...sealed.header, ...change } as SealedForNode["header"],
});

const seal = (meter: string, importWh: number, exportWh: number, slot = SLOT) =>
  sealReading(meter, slot, { importWh, exportWh }, keyOf(meter).privateKey, seededWords(importWh + 7));

describe("a meter's sealed reading", () => {
  it("gives each node shares that rebuild the reading, and each node accepts only its own", () => {
    const envelopes = seal("m1", 812, 0);
    const opened = envelopes.map((envelope, node) =>
      openReading(envelope.header, envelope.body, node as PartyId, keyOf("m1").publicKey),
    );
    const shares = opened.map((result) => {
      assert.ok("shares" in result, "refused" in result ? result.refused : "");
      return result.shares;
    });
    assert.deepEqual([...reconstruct(shares as NodeShares)], [812n, 0n]);
    assert.deepEqual(openReading(envelopes[0].header, envelopes[0].body, 1, keyOf("m1").publicKey), {
      refused: "is addressed to node 0, not 1",
    });
  });

  it("is refused when replayed for another slot, swapped to another meter, altered or signed by another key", () => {
    const [envelope] = seal("m1", 300, 0);
    const altered = envelope.body.slice();
    altered[0] = (altered[0] as number) ^ 1;
    const cases: [string, SealedForNode, KeyObject, RegExp][] = [
      [
        "another slot",
        withHeader(envelope, { slot: "2026-06-01T12:15:00Z" }),
        keyOf("m1").publicKey,
        /does not match its digest/,
      ],
      [
        "another meter",
        withHeader(envelope, { sender: "m2" }),
        keyOf("m2").publicKey,
        /does not match its digest/,
      ],
      ["an altered share", { ...envelope, body: altered }, keyOf("m1").publicKey, /share 0 does not match/],
      ["another key", envelope, keyOf("m2").publicKey, /is not signed by m1/],
      [
        "re-digested shares",
        withHeader(envelope, {
          digests: [envelope.header.digests[1], envelope.header.digests[0], envelope.header.digests[2]],
        }),
        keyOf("m1").publicKey,
        /does not match its digest/,
      ],
    ];
    for (const [what, forged, key, reason] of cases) {
      const result = openReading(forged.header, forged.body, 0, key);
      assert.ok("refused" in result && reason.test(result.refused), `${what}: ${JSON.stringify(result)}`);
    }
  });

  it("tells a node nothing of the reading: its shares and digests look the same for any reading", () => {
    // Node 0 holds additive shares 0 and 1, both uniformly random; the reading sits in share 2.
    const random = () => seededWords(3);
    const a = sealReading("m1", SLOT, { importWh: 5, exportWh: 0 }, keyOf("m1").privateKey, random());
    const b = sealReading("m1", SLOT, { importWh: 4_000, exportWh: 0 }, keyOf("m1").privateKey, random());
    // A body is the node's two components, 16 bytes each: node 1's second is component 2.
    assert.deepEqual(a[0].body, b[0].body, "node 0's shares are the same random words");
    assert.notDeepEqual(a[1].body.slice(16), b[1].body.slice(16), "the reading is in the share node 0 lacks");
  });
});

describe("a node's meter intake", () => {
  const meters = ["m0", "m1", "m2", "m3"];

  it("takes valid readings once, refuses bad ones alone with a reason, and reports missing and late meters", () => {
    const intake = new MeterIntake(0, registry(meters));
    const [m0] = seal("m0", 100, 0);
    const [m1] = seal("m1", 0, 250);
    const [m2] = seal("m2", 40, 0);
    assert.equal(take(intake, m0), null);
    assert.equal(take(intake, m0), `meter m0 already reported slot ${SLOT}`, "a replay");
    assert.equal(codeOf(intake, m0), "held", "a replay is held");
    assert.equal(
      take(intake, withHeader(m1 as SealedForNode, { signature: "00".repeat(64) })),
      `is not signed by m1 for slot ${SLOT}`,
    );
    assert.match(
      take(intake, withHeader(m1 as SealedForNode, { node: 7 })) ?? "",
      /node: is not a node index/,
    );
    assert.equal(
      take(intake, withHeader(m1 as SealedForNode, { sender: "intruder" })),
      "meter intruder is not registered",
    );
    assert.equal(codeOf(intake, withHeader(m1 as SealedForNode, { sender: "intruder" })), undefined);
    assert.equal(take(intake, m1), null, "the genuine reading after a forged one");
    assert.equal(take(intake, m2), null);
    assert.deepEqual(intake.held(SLOT).sort(), ["m0", "m1", "m2"]);
    // m2's reading reached this node but not the others: the three keep only what all hold.
    const closed = intake.close(SLOT, new Set(["m0", "m1", "m3"]));
    assert.deepEqual(closed, { slot: SLOT, reported: 2, missing: ["m2", "m3"], implausible: [], late: [] });
    assert.deepEqual([...(intake.readings(SLOT)?.index.keys() ?? [])], ["m0", "m1"]);
    const [late] = seal("m3", 1, 0);
    for (const attempt of ["first", "replayed"])
      assert.equal(
        take(intake, late),
        `slot ${SLOT} is closed: the reading came late and is reported as such`,
        attempt,
      );
    assert.equal(codeOf(intake, late), "closed", "a late reading");
    assert.equal(
      take(intake, withHeader(seal("m2", 1, 0)[0], { signature: "11".repeat(64) })),
      `is not signed by m2 for slot ${SLOT}`,
      "a forged late reading is not counted",
    );
    assert.deepEqual(
      intake.close(NEXT_SLOT, new Set()).late,
      [{ meter: "m3", slot: SLOT }],
      "reported once, with the next close",
    );
  });

  it("refuses a reading for one slot more than it keeps open", () => {
    const intake = new MeterIntake(0, registry(meters), { maxOpenSlots: 1 });
    assert.equal(take(intake, seal("m0", 1, 0)[0]), null);
    assert.match(
      take(intake, seal("m0", 1, 0, NEXT_SLOT)[0]) ?? "",
      /one more than the 1 slots open at once/,
    );
  });

  it("keeps closed slots up to its bound, oldest dropped first", () => {
    const intake = new MeterIntake(0, registry(meters), { keepSlots: 1 });
    intake.close(SLOT, new Set());
    intake.close(NEXT_SLOT, new Set());
    assert.equal(intake.readings(SLOT), undefined);
    assert.ok(intake.readings(NEXT_SLOT) !== undefined);
    assert.ok(intake.isClosed(SLOT));
  });

  it("holds, on the three nodes, shares of exactly the readings sent", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
          { minLength: 1, maxLength: 4 },
        ),
        (readings) => {
          const ids = readings.map((_, m) => `m${m}`);
          const known = registry(ids);
          const intakes = ([0, 1, 2] as const).map((node) => new MeterIntake(node, known));
          readings.forEach(([importWh, exportWh], m) => {
            const id = ids[m] as string;
            const envelopes = sealReading(id, SLOT, { importWh, exportWh }, keyOf(id).privateKey);
            for (const [node, intake] of intakes.entries()) assert.equal(take(intake, envelopes[node]), null);
          });
          const stored = intakes.map((intake) => {
            intake.close(SLOT, new Set(ids));
            return intake.readings(SLOT);
          });
          for (const part of ["importWh", "exportWh"] as const)
            assert.deepEqual(
              [...reconstruct(stored.map((s) => s?.[part] as Shared) as NodeShares)],
              readings.map(([i, e]) => BigInt(part === "importWh" ? i : e)),
            );
        },
      ),
      propertyOptions(0.1),
    );
  });
});

/** Three nodes' contexts holding one closed slot of `readings` (meter m<k> reads readings[k]). */
function metered(
  readings: readonly (readonly [number, number])[],
  minGroupMeters: number,
  reported = readings.map(() => true),
) {
  const ids = readings.map((_, m) => `m${m}`);
  const known = registry(ids, minGroupMeters);
  const contexts = ([0, 1, 2] as const).map((node) => ({
    registry: known,
    meters: new MeterIntake(node, known),
    bills: new KeptBills(),
  }));
  readings.forEach(([importWh, exportWh], m) => {
    if (!reported[m]) return;
    const envelopes = seal(ids[m] as string, importWh, exportWh);
    for (const [node, context] of contexts.entries())
      assert.equal(take(context.meters, envelopes[node]), null);
  });
  for (const context of contexts) context.meters.close(SLOT, new Set(ids));
  return {
    known,
    as: (requester: string): JobContext[] =>
      contexts.map((context) => ({
        job: "j",
        ...context,
        requester: known.parties.get(requester) as NonNullable<JobContext["requester"]>,
      })),
  };
}

/**
 * Three nodes close a slot in which meter m<k> sent readings[k] (none where `sent` says so), its
 * connection connections[k]: the meter-close program on shares. Returns each node's answer and what
 * it opened, and the nodes' contexts.
 */
async function closeOnShares(
  readings: readonly (readonly [number, number])[],
  connections: readonly Connection[],
  sent = readings.map(() => true),
) {
  const ids = readings.map((_, m) => `m${m}`);
  const known = registry(ids, 1, connections);
  const contexts = ([0, 1, 2] as const).map((node) => ({
    job: "close",
    registry: known,
    meters: new MeterIntake(node, known),
    requester: known.parties.get("operator") as NonNullable<JobContext["requester"]>,
  }));
  readings.forEach(([importWh, exportWh], m) => {
    if (!sent[m]) return;
    const envelopes = seal(ids[m] as string, importWh, exportWh);
    for (const [node, context] of contexts.entries())
      assert.equal(take(context.meters, envelopes[node]), null);
  });
  const agreed = new Set(contexts[0]?.meters.held(SLOT));
  const results = await runParties(async (p) => {
    p.recordDisclosures = true;
    const context = contexts[p.id] as JobContext;
    assert.equal(meterCloseProgram.refuse?.({ slot: SLOT }, context), undefined);
    const result = await meterCloseProgram.run(
      p,
      { slot: SLOT },
      { own: new BigUint64Array(0), next: new BigUint64Array(0) },
      context,
      agreed,
    );
    return { closed: result.public as MeteringClosed, disclosed: p.disclosed.map((values) => [...values]) };
  });
  return { results, contexts };
}

describe("closing a slot's metering", () => {
  it("refuses, on shares, every reading outside 0..its connection's physical capacity (or the per-slot maximum), whatever words the meter signed", async () => {
    const cases: [string, [number, number], number | undefined, string | null][] = [
      ["exactly at capacity", [100, 0], 100, null],
      ["export one Wh above capacity", [0, 101], 100, aboveCapacity(100)],
      ["import above capacity", [5001, 0], 5000, aboveCapacity(5000)],
      ["the word 2^64 − 1 (−1)", [-1, 0], undefined, OUTSIDE_RANGE],
      ["the word 2^63", [0, 2 ** 63], 5000, aboveCapacity(5000)],
      ["the word 2^64 − 2^32", [-(2 ** 32), 0], 5000, aboveCapacity(5000)],
      ["the per-slot maximum, no capacity", [MAX_ENERGY_WH, MAX_ENERGY_WH], undefined, null],
      ["one Wh above the per-slot maximum", [0, MAX_ENERGY_WH + 1], undefined, OUTSIDE_RANGE],
      ["nothing, capacity 0", [0, 0], 0, null],
      ["a plain reading", [812, 0], 2500, null],
    ];
    // One more meter never sends: it is missing, not implausible, and costs no comparison.
    const { results, contexts } = await closeOnShares(
      [...cases.map(([, reading]) => reading), [1, 0]],
      [...cases.map(([, , capacityWh]) => capacity(capacityWh)), capacity(10)],
      [...cases.map(() => true), false],
    );
    const refused = cases.flatMap(([, , , reason], m) =>
      reason === null ? [] : [{ meter: `m${m}`, reason }],
    );
    for (const { closed } of results)
      assert.deepEqual(closed, {
        slot: SLOT,
        reported: cases.length - refused.length,
        missing: [`m${cases.length}`],
        implausible: refused,
        late: [],
      });
    // What each node opened: one bit per meter that reported (1: plausible), nothing else.
    const bits = cases.map(([, , , reason]) => (reason === null ? 1n : 0n));
    for (const { disclosed } of results) assert.deepEqual(disclosed, [bits]);
    // The refused readings are not kept: billing estimates them as it does missing ones.
    const kept = contexts[0]?.meters.readings(SLOT);
    assert.deepEqual(
      [...(kept?.index.keys() ?? [])],
      cases.flatMap(([, , , reason], m) => (reason === null ? [`m${m}`] : [])),
    );
    assert.deepEqual(
      [...(kept?.implausible.keys() ?? [])],
      refused.map((r) => r.meter),
    );
    const importWh = reconstruct(
      contexts.map((c) => c.meters.readings(SLOT)?.importWh as Shared) as NodeShares,
    );
    assert.deepEqual([...importWh], [100n, BigInt(MAX_ENERGY_WH), 0n, 812n]);
  });

  it("refuses exactly the readings the reference's rule refuses", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 6000 }),
            fc.integer({ min: 0, max: 6000 }),
            fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (meters) => {
          const { results } = await closeOnShares(
            meters.map(([i, e]) => [i, e] as const),
            meters.map(([, , capacityWh]) => capacity(capacityWh)),
          );
          const expected = meters.flatMap(([importWh, exportWh, capacityWh], m) => {
            const reason = implausibility({ metered: { importWh, exportWh }, ...capacity(capacityWh) });
            return reason === null ? [] : [{ meter: `m${m}`, reason }];
          });
          for (const { closed } of results) assert.deepEqual(closed.implausible, expected);
        },
      ),
      propertyOptions(0.05),
    );
  });

  it("keeps a reading above its connection's trading cap: only the physical capacity bounds a reading", async () => {
    const { results, contexts } = await closeOnShares(
      [
        [3000, 0],
        [0, 4312],
        [9000, 0],
      ],
      [
        { connectionCapWh: 2500, physicalCapacityWh: 4312 },
        { connectionCapWh: 2500, physicalCapacityWh: 4312 },
        { connectionCapWh: 2500 },
      ],
    );
    for (const { closed, disclosed } of results) {
      assert.deepEqual(closed.implausible, []);
      assert.equal(closed.reported, 3);
      assert.deepEqual(disclosed, [[1n, 1n, 1n]]);
    }
    const importWh = reconstruct(
      contexts.map((c) => c.meters.readings(SLOT)?.importWh as Shared) as NodeShares,
    );
    assert.deepEqual([...importWh], [3000n, 0n, 9000n]);
  });
});

describe("meter totals", () => {
  it("give the DSO every zone's totals and a supplier its portfolio's, as shares: the nodes open nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), fc.boolean()),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        async (meters) => {
          const readings = meters.map(([i, e]) => [i, e] as const);
          const nodes = metered(
            readings,
            2,
            meters.map(([, , reported]) => reported),
          );
          for (const [requester, by] of [
            ["dso", "zone"],
            ["s0", "supplier"],
            ["s1", "supplier"],
          ] as const) {
            const contexts = nodes.as(requester);
            const results = await runParties(async (p) => {
              p.recordDisclosures = true;
              const params = { slot: SLOT, by };
              assert.equal(meterTotalsProgram.refuse?.(params, contexts[p.id] as JobContext), undefined);
              const result = await meterTotalsProgram.run(
                p,
                params,
                { own: new BigUint64Array(0), next: new BigUint64Array(0) },
                contexts[p.id],
              );
              return { ...result, disclosed: p.disclosed.length };
            });
            const totals = reconstruct(results.map((r) => r.outputs as Shared) as NodeShares);
            const { groups } = results[0].public as MeterTotalsPublic;
            const groupOf = (m: number) => (by === "zone" ? `z${m % 2}` : m % 3 === 2 ? "s1" : "s0");
            groups.forEach((group, g) => {
              const members = meters.flatMap((meter, m) =>
                groupOf(m) === group.id && meter[2] ? [meter] : [],
              );
              assert.equal(group.meters, members.length, `${requester}: ${group.id}'s meters`);
              assert.equal(group.withheld, members.length < 2, `${requester}: ${group.id} withheld`);
              const sum = (k: 0 | 1) =>
                group.withheld ? 0n : members.reduce((s, meter) => s + BigInt(meter[k]), 0n);
              assert.equal(totals[g], sum(0), `${requester}: ${group.id} import`);
              assert.equal(totals[groups.length + g], sum(1), `${requester}: ${group.id} export`);
            });
            if (by === "supplier")
              assert.deepEqual(
                groups.map((g) => g.id),
                meters.some((_, m) => groupOf(m) === requester) ? [requester] : [],
                "its own portfolio only",
              );
            for (const result of results) assert.equal(result.disclosed, 0, "a node learns nothing");
          }
        },
      ),
      propertyOptions(0.05),
    );
  });

  it("are refused to anyone but the DSO (by zone) and a supplier (its portfolio), and for slots not kept", () => {
    const nodes = metered([[1, 0]], 1);
    const cases: [string | undefined, Record<string, string>, RegExp][] = [
      ["h0", { slot: SLOT, by: "zone" }, /only the DSO asks totals by zone/],
      ["s0", { slot: SLOT, by: "zone" }, /only the DSO asks totals by zone/],
      ["dso", { slot: SLOT, by: "supplier" }, /only the supplier asks totals by supplier/],
      ["operator", { slot: SLOT, by: "supplier" }, /only the supplier/],
      [undefined, { slot: SLOT, by: "zone" }, /only the DSO/],
      ["dso", { slot: NEXT_SLOT, by: "zone" }, /metering of slot 2026-06-01T12:15:00Z is not closed/],
    ];
    for (const [requester, params, reason] of cases) {
      const context =
        requester === undefined
          ? { ...(nodes.as("dso")[0] as JobContext), requester: undefined }
          : (nodes.as(requester)[0] as JobContext);
      const { requester: _, ...unsigned } = context;
      const refusal = meterTotalsProgram.refuse?.(
        meterTotalsProgram.params.parse(params),
        requester === undefined ? unsigned : context,
      );
      assert.match(refusal ?? "", reason, `${requester} ${JSON.stringify(params)}`);
    }
    assert.equal(
      meterTotalsProgram.refuse?.({ slot: SLOT, by: "zone" }, { job: "j" }),
      "this node keeps no meter registry",
    );
  });
});

describe("a household's own readings", () => {
  it("go to that household alone, with the slots its meter missed", async () => {
    const nodes = metered(
      [
        [120, 0],
        [0, 75],
      ],
      1,
      [true, true],
    );
    const contexts = nodes.as("h1");
    const params = { slots: [SLOT] };
    const results = await runParties(async (p) => {
      assert.equal(meterReadingsProgram.refuse?.(params, contexts[p.id] as JobContext), undefined);
      return meterReadingsProgram.run(
        p,
        params,
        { own: new BigUint64Array(0), next: new BigUint64Array(0) },
        contexts[p.id],
      );
    });
    assert.deepEqual([...reconstruct(results.map((r) => r.outputs as Shared) as NodeShares)], [0n, 75n]);
    assert.deepEqual(results[0].public as MeterReadingsPublic, { meter: "m1", missing: [] });
    assert.match(
      meterReadingsProgram.refuse?.(params, nodes.as("dso")[0] as JobContext) ?? "",
      /only a household with a meter/,
    );
    assert.match(
      meterReadingsProgram.refuse?.({ slots: [NEXT_SLOT] }, contexts[0] as JobContext) ?? "",
      /is not closed/,
    );
  });
});

describe("a missing reading", () => {
  it("is billed as the household's committed net position, so its deviation is zero", () => {
    const committed = {
      communityBuyWh: 300,
      communitySellWh: 0,
      bilateral: [{ partner: "alice", side: "sell" as const, volumeWh: 50, price: 0 }],
      supplierBuyWh: 20,
      supplierSellWh: 0,
    };
    assert.deepEqual(estimatedReading(committed), { importWh: 270, exportWh: 0 });
    assert.deepEqual(
      estimatedReading({ ...committed, communityBuyWh: 0, supplierBuyWh: 0, supplierSellWh: 80 }),
      { importWh: 0, exportWh: 130 },
    );
  });
});
