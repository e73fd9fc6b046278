/**
 * Private metering and billing benchmark (issue: 3 node processes over TLS on the 2-core machine;
 * metering aggregation for 5,000 meters per slot <= 0.02 s; one slot for 5,000 households <= 0.05 s;
 * one month of 2,976 slots for 5,000 households <= 30 s, with rounds and MB per party): a node's
 * check of 5,000 sealed readings; the DSO's zone totals of the readings 5,000 meters sent the nodes;
 * the `bill` program on a slot from those readings, sealed to the households (the deployed path), and
 * on slots a client supplies in full (a month in batches) — slots like a community's: most households
 * committed in the community and with the supplier, some with a partner, a few idle — every bill
 * checked against the reference.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { type BillingModel, type BillingSlot, billSlot } from "../src/billing/index.ts";
import { billOutputsOf, prepareBill } from "../src/private/billing/encode.ts";
import { MAX_HOUSEHOLD_SLOTS } from "../src/private/billing/layout.ts";
import type { BillPublic } from "../src/private/billing/program.ts";
import { sealReading } from "../src/private/metering/envelope.ts";
import { MeterIntake } from "../src/private/metering/intake.ts";
import {
  DSO_ID,
  type GeneratedRegistry,
  generateRegistry,
  meterIdOf,
  OPERATOR_ID,
  parseRegistry,
  privateKeyOf,
  signerOf,
} from "../src/private/registry.ts";
import { closeMetering } from "../src/roles/broker/close.ts";
import { meterTotals } from "../src/roles/dso/totals.ts";
import { ownSlotBills } from "../src/roles/household/figures.ts";
import { sendReading } from "../src/roles/meter/readings.ts";
import { NodeClient } from "../src/roles/mpc-node/client.ts";
import type { JobStats } from "../src/roles/mpc-node/jobs.ts";
import { startLocalCluster } from "../src/roles/mpc-node/local-cluster.ts";
import { type BenchRow, median, seededIntegers } from "./support.ts";

const HOUSEHOLDS = 5_000;
const MONTH_SLOTS = 2_976;
const RUNS = 3;
const ZONES = 8;

/** The community's registry: household h<k> in zone z<k mod 8>, all with supplier s0. */
const REGISTRY: GeneratedRegistry = generateRegistry({
  households: Array.from({ length: HOUSEHOLDS }, (_, h) => ({
    id: `h${h}`,
    zone: `z${h % ZONES}`,
    supplier: "s0",
  })),
});
const signer = (party: string) => signerOf(REGISTRY.keys, party);
const meterKey = (household: string): KeyObject =>
  privateKeyOf(REGISTRY.keys, "meters", meterIdOf(household));
/** Every this many households fetches its bill after a metered slot and has it checked. */
const CHECK_EVERY = 50;

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
  const outcome = await client.run("bill", prepared.params, prepared.inputs, { signer: signer(OPERATOR_ID) });
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
  const registry = parseRegistry(REGISTRY.file);
  const sealed = Array.from(
    { length: HOUSEHOLDS },
    (_, h) => sealReading(meterIdOf(`h${h}`), slot, { importWh: h % 900, exportWh: 0 }, meterKey(`h${h}`))[0],
  );
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const intake = new MeterIntake(0, registry);
    const started = performance.now();
    for (const { header, body } of sealed) {
      if (intake.accept(header, body) !== null) throw new Error("a valid reading was refused");
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

/** Every household's meter sends its reading of `slot` to the nodes; the operator closes the slot's metering. */
async function meterSlot(client: NodeClient, slot: BillingSlot): Promise<void> {
  const refusals = await Promise.all(
    slot.households.map((household) =>
      sendReading(
        client,
        { id: meterIdOf(household.id), key: meterKey(household.id) },
        slot.slot,
        household.metered,
      ),
    ),
  );
  if (refusals.some((refusal) => refusal !== null))
    throw new Error(`a reading was refused: ${refusals.find(Boolean)}`);
  const closed = await closeMetering(client, slot.slot, signer(OPERATOR_ID));
  if (closed.missing.length > 0) throw new Error(`${closed.missing.length} meters missing`);
}

/** The DSO's per-zone totals of one slot's 5,000 readings on the nodes, checked against plain sums. */
async function meterTotalsRow(client: NodeClient, slot: BillingSlot): Promise<BenchRow> {
  const expected = Array.from({ length: ZONES }, (_, z) =>
    slot.households.reduce(
      (sum, household, h) =>
        h % ZONES === z
          ? {
              importWh: sum.importWh + household.metered.importWh,
              exportWh: sum.exportWh + household.metered.exportWh,
            }
          : sum,
      { importWh: 0, exportWh: 0 },
    ),
  );
  const totals = await meterTotals(client, slot.slot, "zone", signer(DSO_ID));
  if (totals.some((group, z) => JSON.stringify(group.totals) !== JSON.stringify(expected[z])))
    throw new Error("meter totals differ from the sums");
  const times: number[] = [];
  const walls: number[] = [];
  let stats: JobStats[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const outcome = await client.run("meter-totals", { slot: slot.slot, by: "zone" }, new BigUint64Array(0), {
      signer: signer(DSO_ID),
    });
    walls.push(performance.now() - started);
    stats = outcome.stats;
    times.push(protocolMs(stats));
  }
  return {
    name: "mpc metering aggregation: per-zone totals for the DSO",
    size: `${HOUSEHOLDS} meters, ${ZONES} zones`,
    medianMs: median(times),
    minMs: Math.min(...times),
    runs: RUNS,
    targetMs: 20,
    note: `${stats[0]?.rounds} rounds, ${megabytesPerParty(stats).toFixed(3)} MB per party; ${median(walls).toFixed(1)} ms for the DSO's request, signed, end to end; from the readings the meters sent the nodes`,
  };
}

/**
 * Bills a slot from the nodes' readings (the deployed path); every 50th household fetches its bill,
 * which is checked against the reference. @returns the bill job's stats and the fetches' times.
 */
async function billMeteredSlot(
  client: NodeClient,
  slot: BillingSlot,
  model: BillingModel,
): Promise<{ stats: JobStats[]; fetchMs: number[] }> {
  const prepared = prepareBill([slot], model, { metered: true });
  const outcome = await client.run("bill", prepared.params, prepared.inputs, { signer: signer(OPERATOR_ID) });
  if (outcome.outputs.length > 0) throw new Error("the operator got bill shares");
  const expected = billSlot(slot, model).bills;
  const fetchMs: number[] = [];
  for (let h = 0; h < slot.households.length; h += CHECK_EVERY) {
    const household = slot.households[h] as BillingSlot["households"][number];
    const started = performance.now();
    const [row] = await ownSlotBills(client, [slot.slot], signer(household.id));
    fetchMs.push(performance.now() - started);
    if (row === null || row === undefined) throw new Error(`no bill kept for ${household.id}`);
    const [billing] = prepareBill([{ ...slot, households: [household] }], model, { metered: true }).finish(
      outcome.public as BillPublic,
      billOutputsOf([row]),
    );
    if (JSON.stringify(billing?.bills[0]) !== JSON.stringify(expected[h]))
      throw new Error(`the private bill of ${household.id} in ${slot.slot} differs from the reference`);
  }
  return { stats: outcome.stats, fetchMs };
}

export async function mpcBillingBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [intakeRow()];
  const cluster = await startLocalCluster({ timeoutMs: 120_000, registry: REGISTRY });
  const client = await NodeClient.connect(cluster.config);
  try {
    // A slot per run and model: a slot is billed once.
    const metered = slots(0, 2 * (1 + RUNS), HOUSEHOLDS);
    for (const slot of metered) await meterSlot(client, slot);
    rows.push(await meterTotalsRow(client, metered[0] as BillingSlot));
    for (const [m, model] of (["ucs-uniform", "ucs-proportional"] as const).entries()) {
      const times: number[] = [];
      const fetches: number[] = [];
      let stats: JobStats[] = [];
      for (let run = 0; run <= RUNS; run++) {
        const outcome = await billMeteredSlot(client, metered[m * (1 + RUNS) + run] as BillingSlot, model);
        stats = outcome.stats;
        if (run === 0) continue;
        times.push(protocolMs(stats));
        fetches.push(...outcome.fetchMs);
      }
      rows.push({
        name: `mpc billing, one slot from the meters' readings (${model})`,
        size: `${HOUSEHOLDS} households`,
        medianMs: median(times),
        minMs: Math.min(...times),
        runs: RUNS,
        targetMs: 50,
        note: `${stats[0]?.rounds} rounds, ${megabytesPerParty(stats).toFixed(2)} MB per party; bills kept on the nodes; a household fetches its own in ${median(fetches).toFixed(1)} ms (signed request, end to end; every ${CHECK_EVERY}th checked)`,
      });
    }
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
        name: `mpc billing, one slot supplied by the client (${model})`,
        size: `${HOUSEHOLDS} households`,
        medianMs: median(times),
        minMs: Math.min(...times),
        runs: RUNS,
        targetMs: 50,
        note: `${stats[0]?.rounds} rounds, ${megabytesPerParty(stats).toFixed(2)} MB per party; pool shares added by the bills' recipient`,
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
