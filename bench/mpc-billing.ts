/**
 * Private metering and billing benchmark (issue: 3 node processes over TLS on the 2-core machine;
 * metering aggregation for 5,000 meters per slot <= 0.02 s; one slot for 5,000 households <= 0.05 s;
 * one month of 2,976 slots for 5,000 households <= 30 s, with rounds and MB per party): the
 * `meter-totals` program by zone, a node's check of 5,000 sealed readings, and the `bill` program on
 * slots like a community's — most households committed in the community and with the supplier, some
 * with a partner, a few idle — every run checked against the reference.
 * @module
 */
import { generateKeyPairSync } from "node:crypto";
import { type BillingModel, type BillingSlot, billSlot } from "../src/billing/index.ts";
import { prepareBill } from "../src/mpc/billing/client.ts";
import { type BillPublic, MAX_HOUSEHOLD_SLOTS } from "../src/mpc/billing/program.ts";
import type { JobStats } from "../src/mpc/jobs.ts";
import { startLocalCluster } from "../src/mpc/local-cluster.ts";
import { sealReading } from "../src/mpc/metering/envelope.ts";
import { MeterIntake, type RegisteredMeter } from "../src/mpc/metering/intake.ts";
import { NodeClient } from "../src/mpc/node-client.ts";
import { type BenchRow, median, seededIntegers } from "./support.ts";

const HOUSEHOLDS = 5_000;
const MONTH_SLOTS = 2_976;
const RUNS = 3;

/** `count` slots of `households` households from slot `first` on, seeded by the slot index. */
function slots(first: number, count: number, households: number): BillingSlot[] {
  return Array.from({ length: count }, (_, k) => {
    const t = first + k;
    const random = seededIntegers(t + 1);
    const feedIn = 500;
    const retail = 2800;
    const clearingPrice = random.next(0, 9) === 0 ? null : random.next(feedIn, retail);
    return {
      slot: new Date(Date.UTC(2026, 0, 1) + t * 900_000).toISOString(),
      prices: { feedIn, retail, networkFee: 350 },
      clearingPrice,
      households: Array.from({ length: households }, (_, h) => {
        const idle = random.next(0, 29) === 0;
        const volumeWh = idle ? 0 : random.next(1, 2000);
        const communityWh = clearingPrice === null ? 0 : random.next(0, volumeWh);
        const bilateralWh = h % 10 === 0 ? Math.min(volumeWh - communityWh, 300) : 0;
        const supplierWh = volumeWh - communityWh - bilateralWh;
        const buying = random.next(0, 1) === 0;
        const meteredWh = Math.max(0, volumeWh + random.next(-200, 200));
        return {
          id: `h${h}`,
          committed: {
            communityBuyWh: buying ? communityWh : 0,
            communitySellWh: buying ? 0 : communityWh,
            bilateral:
              bilateralWh === 0
                ? []
                : [
                    {
                      partner: `h${h + 1}`,
                      side: buying ? ("buy" as const) : ("sell" as const),
                      volumeWh: bilateralWh,
                      price: 1500,
                    },
                  ],
            supplierBuyWh: buying ? supplierWh : 0,
            supplierSellWh: buying ? 0 : supplierWh,
          },
          metered: buying ? { importWh: meteredWh, exportWh: 0 } : { importWh: 0, exportWh: meteredWh },
        };
      }),
    };
  });
}

/** Bills `slots` on the nodes in one run; throws when a bill differs from the reference's. */
async function billOnNodes(
  client: NodeClient,
  batch: readonly BillingSlot[],
  model: BillingModel,
): Promise<{ stats: JobStats[]; wallMs: number }> {
  const prepared = prepareBill(batch, model);
  const started = performance.now();
  const outcome = await client.run("bill", prepared.params, prepared.inputs);
  const wallMs = performance.now() - started;
  const billings = prepared.finish(outcome.public as BillPublic, outcome.outputs);
  batch.forEach((slot, t) => {
    if (JSON.stringify(billings[t]?.bills) !== JSON.stringify(billSlot(slot, model).bills))
      throw new Error(`the private bills of ${slot.slot} differ from the reference`);
  });
  return { stats: outcome.stats, wallMs };
}

const protocolMs = (stats: readonly JobStats[]) => Math.max(...stats.map((s) => s.protocolMs));
const megabytesPerParty = (stats: readonly JobStats[]) =>
  stats.reduce((sum, s) => sum + s.bytesSent, 0) / 3 / 1e6;

/** A node's intake checking one slot's 5,000 sealed readings (signature and digests each). */
function intakeRow(): BenchRow {
  const slot = "2026-01-01T00:00:00Z";
  const registry = new Map<string, RegisteredMeter>();
  const envelopes = Array.from({ length: HOUSEHOLDS }, (_, m) => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    registry.set(`m${m}`, { publicKey, zone: `z${m % 8}`, supplier: "s0" });
    return sealReading(`m${m}`, slot, { importWh: m % 900, exportWh: 0 }, privateKey)[0];
  });
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const intake = new MeterIntake(0, registry, 900_000);
    const started = performance.now();
    for (const envelope of envelopes) {
      if (intake.accept(envelope, Date.parse(slot) + 901_000) !== null)
        throw new Error("a valid reading was refused");
    }
    times.push(performance.now() - started);
  }
  return {
    name: "meter intake on one node: check signed readings",
    size: `${HOUSEHOLDS} meters`,
    medianMs: median(times),
    minMs: Math.min(...times),
    runs: RUNS,
    note: "Ed25519 and salted SHA-256 digests per reading (Node's OpenSSL)",
  };
}

/** The DSO's per-zone totals of one slot's 5,000 readings on the nodes, checked against plain sums. */
async function meterTotalsRow(client: NodeClient): Promise<BenchRow> {
  const zones = 8;
  const random = seededIntegers(99);
  const readings = Array.from(
    { length: HOUSEHOLDS },
    () => [random.next(0, 3000), random.next(0, 3000)] as const,
  );
  const inputs = BigUint64Array.from([
    ...readings.map(([i]) => BigInt(i)),
    ...readings.map(([, e]) => BigInt(e)),
  ]);
  const params = { meters: HOUSEHOLDS, groups: zones, groupOf: readings.map((_, m) => m % zones) };
  const expected = [0, 1].flatMap((part) =>
    Array.from({ length: zones }, (_, z) =>
      readings.reduce(
        (sum, reading, m) => sum + (m % zones === z ? BigInt(reading[part] as number) : 0n),
        0n,
      ),
    ),
  );
  const times: number[] = [];
  let stats: JobStats[] = [];
  for (let run = 0; run < 1 + RUNS; run++) {
    const outcome = await client.run("meter-totals", params, inputs);
    if (outcome.outputs.some((total, k) => total !== expected[k]))
      throw new Error("meter totals differ from the sums");
    if (run === 0) continue;
    stats = outcome.stats;
    times.push(protocolMs(stats));
  }

  return {
    name: "mpc metering aggregation: per-zone totals for the DSO",
    size: `${HOUSEHOLDS} meters, ${zones} zones`,
    medianMs: median(times),
    minMs: Math.min(...times),
    runs: RUNS,
    targetMs: 20,
    note: `${stats[0]?.rounds} rounds, ${megabytesPerParty(stats).toFixed(3)} MB per party; totals to the DSO as shares`,
  };
}

export async function mpcBillingBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [intakeRow()];
  const cluster = await startLocalCluster({ timeoutMs: 120_000 });
  const client = await NodeClient.connect(cluster.config);
  try {
    rows.push(await meterTotalsRow(client));
    for (const model of ["ucs-uniform", "ucs-proportional"] as const) {
      const one = slots(0, 1, HOUSEHOLDS);
      await billOnNodes(client, one, model);
      const times: number[] = [];
      let stats: JobStats[] = [];
      for (let run = 0; run < RUNS; run++) {
        const outcome = await billOnNodes(client, one, model);
        times.push(protocolMs(outcome.stats));
        stats = outcome.stats;
      }
      rows.push({
        name: `mpc billing, one slot (${model})`,
        size: `${HOUSEHOLDS} households`,
        medianMs: median(times),
        minMs: Math.min(...times),
        runs: RUNS,
        targetMs: 50,
        note: `${stats[0]?.rounds} rounds, ${megabytesPerParty(stats).toFixed(2)} MB per party`,
      });
    }
    for (const model of ["ucs-uniform", "ucs-proportional"] as const) {
      const slotsPerRun = Math.floor(MAX_HOUSEHOLD_SLOTS / HOUSEHOLDS);
      let totalMs = 0;
      let rounds = 0;
      let megabytes = 0;
      let runs = 0;
      for (let first = 0; first < MONTH_SLOTS; first += slotsPerRun) {
        const { stats } = await billOnNodes(
          client,
          slots(first, Math.min(slotsPerRun, MONTH_SLOTS - first), HOUSEHOLDS),
          model,
        );
        totalMs += protocolMs(stats);
        rounds += stats[0]?.rounds ?? 0;
        megabytes += megabytesPerParty(stats);
        runs++;
      }
      rows.push({
        name: `mpc billing, one month (${model})`,
        size: `${HOUSEHOLDS} households x ${MONTH_SLOTS} slots`,
        medianMs: totalMs,
        minMs: totalMs,
        runs: 1,
        targetMs: 30_000,
        note: `${runs} runs of ${slotsPerRun} slots: ${rounds} rounds, ${megabytes.toFixed(0)} MB per party; protocol time summed`,
      });
    }
  } finally {
    client.close();
    await cluster.stop();
  }
  return rows;
}
