import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { deal, runParties, seededWords } from "../../../test/support/mpc.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import { estimatedReading } from "../../billing/index.ts";
import type { Shared } from "../arithmetic.ts";
import { type NodeShares, reconstruct } from "../client.ts";
import type { PartyId } from "../transport/types.ts";
import { type MeterEnvelope, openEnvelope, sealReading } from "./envelope.ts";
import { MeterIntake, READING_GRACE_MS, type RegisteredMeter } from "./intake.ts";
import { meterTotalsParamsSchema, meterTotalsProgram } from "./program.ts";

const SLOT = "2026-06-01T12:00:00Z";
const SLOT_MS = 900_000;
const AFTER_SLOT = Date.parse(SLOT) + SLOT_MS + 1_000;

const keys = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
function keyOf(meter: string) {
  let pair = keys.get(meter);
  if (pair === undefined) {
    pair = generateKeyPairSync("ed25519");
    keys.set(meter, pair);
  }
  return pair;
}

function registry(meters: readonly string[]): Map<string, RegisteredMeter> {
  return new Map(
    meters.map((id, m) => [id, { publicKey: keyOf(id).publicKey, zone: `z${m % 2}`, supplier: `s${m % 3}` }]),
  );
}

const seal = (meter: string, importWh: number, exportWh: number, slot = SLOT) =>
  sealReading(meter, slot, { importWh, exportWh }, keyOf(meter).privateKey, seededWords(importWh + 7));

describe("a meter's sealed reading", () => {
  it("gives each node shares that rebuild the reading, and each node accepts only its own", () => {
    const envelopes = seal("m1", 812, 0);
    const opened = envelopes.map((envelope, node) =>
      openEnvelope(envelope, node as PartyId, keyOf("m1").publicKey),
    );
    const shares = opened.map((result) => {
      assert.ok("shares" in result, "refused" in result ? result.refused : "");
      return result.shares;
    });
    assert.deepEqual([...reconstruct(shares as NodeShares)], [812n, 0n]);
    assert.deepEqual(openEnvelope(envelopes[0], 1, keyOf("m1").publicKey), {
      refused: "is addressed to node 0, not 1",
    });
  });

  it("is refused when replayed for another slot, swapped to another meter, altered or signed by another key", () => {
    const [envelope] = seal("m1", 300, 0);
    const cases: [string, MeterEnvelope, KeyObject, RegExp][] = [
      [
        "another slot",
        { ...envelope, slot: "2026-06-01T12:15:00Z" },
        keyOf("m1").publicKey,
        /does not match its digest/,
      ],
      ["another meter", { ...envelope, meter: "m2" }, keyOf("m2").publicKey, /does not match its digest/],
      [
        "an altered share",
        { ...envelope, shares: [["0000000000000001", envelope.shares[0][1]], envelope.shares[1]] },
        keyOf("m1").publicKey,
        /share 0 does not match/,
      ],
      ["another key", envelope, keyOf("m2").publicKey, /is not signed by meter m1/],
      [
        "re-digested shares",
        { ...envelope, digests: [envelope.digests[1], envelope.digests[0], envelope.digests[2]] },
        keyOf("m1").publicKey,
        /does not match its digest/,
      ],
    ];
    for (const [what, forged, key, reason] of cases) {
      const result = openEnvelope(forged, 0, key);
      assert.ok("refused" in result && reason.test(result.refused), `${what}: ${JSON.stringify(result)}`);
    }
  });

  it("tells a node nothing of the reading: its shares and digests look the same for any reading", () => {
    // Node 0 holds additive shares 0 and 1, both uniformly random; the reading sits in share 2.
    const random = () => seededWords(3);
    const a = sealReading("m1", SLOT, { importWh: 5, exportWh: 0 }, keyOf("m1").privateKey, random());
    const b = sealReading("m1", SLOT, { importWh: 4_000, exportWh: 0 }, keyOf("m1").privateKey, random());
    assert.deepEqual(a[0].shares, b[0].shares, "node 0's shares are the same random words");
    assert.notDeepEqual(a[1].shares[1], b[1].shares[1], "the reading is in the share node 0 lacks");
  });
});

describe("a node's meter intake", () => {
  const meters = ["m0", "m1", "m2", "m3"];

  it("takes valid readings once, refuses bad ones alone with a reason, and reports missing and late meters", () => {
    const intake = new MeterIntake(0, registry(meters), SLOT_MS);
    const [m0] = seal("m0", 100, 0);
    const [m1] = seal("m1", 0, 250);
    const [m2] = seal("m2", 40, 0);
    assert.equal(intake.accept(m0, Date.parse(SLOT) + 10), `slot ${SLOT} is not over yet`);
    assert.equal(intake.accept(m0, AFTER_SLOT), null);
    assert.equal(intake.accept(m0, AFTER_SLOT), `meter m0 already reported slot ${SLOT}`, "a replay");
    assert.equal(
      intake.accept({ ...m1, signature: "00".repeat(64) }, AFTER_SLOT),
      `is not signed by meter m1 for slot ${SLOT}`,
    );
    assert.match(intake.accept({ ...m1, node: 7 }, AFTER_SLOT) ?? "", /node: is not a node index/);
    assert.equal(intake.accept({ ...m1, meter: "intruder" }, AFTER_SLOT), "meter intruder is not registered");
    assert.equal(intake.accept(m1, AFTER_SLOT), null, "the genuine reading after a forged one");
    const late = Date.parse(SLOT) + SLOT_MS + READING_GRACE_MS + 1;
    assert.equal(intake.accept(m2, late), `the reading came after the deadline of slot ${SLOT}`);
    const closed = intake.close(SLOT);
    assert.deepEqual(closed.meters, ["m0", "m1"]);
    assert.deepEqual(closed.missing, ["m2", "m3"]);
    assert.deepEqual(closed.late, ["m2"]);
    assert.equal(intake.accept(seal("m3", 1, 0)[0], AFTER_SLOT), `slot ${SLOT} is closed`);
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
          const intakes = ([0, 1, 2] as const).map((node) => new MeterIntake(node, registry(ids), SLOT_MS));
          readings.forEach(([importWh, exportWh], m) => {
            const envelopes = sealReading(
              ids[m] as string,
              SLOT,
              { importWh, exportWh },
              keyOf(ids[m] as string).privateKey,
            );
            for (const [node, intake] of intakes.entries())
              assert.equal(intake.accept(envelopes[node], AFTER_SLOT), null);
          });
          const closed = intakes.map((intake) => intake.close(SLOT).shares);
          assert.deepEqual(
            [...reconstruct(closed as NodeShares)],
            [...readings.map(([i]) => BigInt(i)), ...readings.map(([, e]) => BigInt(e))],
          );
        },
      ),
      propertyOptions(0.1),
    );
  });
});

describe("meter totals", () => {
  it("sums readings by group for the asking client only: the nodes open nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 5000 }),
            fc.integer({ min: 0, max: 5000 }),
            fc.integer({ min: -1, max: 2 }),
          ),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        async (meters) => {
          const params = meterTotalsParamsSchema.parse({
            meters: meters.length,
            groups: 3,
            groupOf: meters.map(([, , g]) => g),
          });
          const dealt = deal(
            BigUint64Array.from([...meters.map(([i]) => BigInt(i)), ...meters.map(([, e]) => BigInt(e))]),
            9,
          );
          const results = await runParties(async (p) => {
            p.recordDisclosures = true;
            const result = await meterTotalsProgram.run(p, params, dealt[p.id]);
            return { outputs: result.outputs as Shared, disclosed: p.disclosed.length };
          });
          const totals = reconstruct(results.map((r) => r.outputs) as NodeShares);
          const expected = [0, 1, 2].flatMap((part) =>
            [0, 1, 2].map((group) =>
              meters.filter(([, , g]) => g === group).reduce((sum, m) => sum + BigInt(m[part] as number), 0n),
            ),
          );
          assert.deepEqual([...totals], expected.slice(0, 6));
          for (const result of results) assert.equal(result.disclosed, 0, "a node learns nothing");
        },
      ),
      propertyOptions(0.1),
    );
  });

  it("refuses a grouping that does not fit its meters", () => {
    assert.throws(() => meterTotalsParamsSchema.parse({ meters: 2, groups: 2, groupOf: [0] }));
    assert.throws(() => meterTotalsParamsSchema.parse({ meters: 1, groups: 2, groupOf: [2] }));
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
