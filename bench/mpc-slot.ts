/**
 * The whole slot on three node processes (issue 17): 10,000 households with up to three registered
 * partners each seal their intents to the nodes, the broker clears the slot, and every household's
 * commitments are checked against `clearSlot`; beside it, the community stage alone (the `clear`
 * program) on the same slot's community book. Protocol time is the slowest node's.
 * @module
 */
import { clearCommunity, clearSlot, type HouseholdIntent, planSlot } from "../src/market/index.ts";
import { prepareClear } from "../src/private/clearing/encode.ts";
import type { ClearPublic } from "../src/private/clearing/program.ts";
import type { Signer } from "../src/private/keys.ts";
import { generateRegistry, OPERATOR_ID, parseRegistry, signerOf } from "../src/private/registry.ts";
import { submitIntent } from "../src/roles/household/intent.ts";
import { NodeClient } from "../src/roles/mpc-node/client.ts";
import type { JobStats } from "../src/roles/mpc-node/jobs.ts";
import { startLocalCluster } from "../src/roles/mpc-node/local-cluster.ts";
import { type BenchRow, median, seededIntegers } from "./support.ts";

const HOUSEHOLDS = 10_000;
const WARMUP_RUNS = 1;
const RUNS = 3;
const PRICES = { feedIn: 500, retail: 2000 };

const idOf = (h: number) => `h${String(h).padStart(5, "0")}`;

/** A community: each household sells or buys up to 3 kWh, sellers offer to up to three partners. */
function community(seed: number) {
  const random = seededIntegers(seed);
  const partners: { seller: string; buyers: string[] }[] = [];
  const intents: HouseholdIntent[] = [];
  const offersOf = new Map<string, { partner: string; price: number; capWh: number }[]>();
  const acceptsOf = new Map<string, { partner: string; capWh: number; maxPrice?: number }[]>();
  for (let h = 0; h < HOUSEHOLDS; h++) {
    const buyers = new Set<string>();
    const count = random.next(0, 3);
    for (let k = 0; k < count; k++) {
      const buyer = random.next(0, HOUSEHOLDS - 1);
      if (buyer !== h) buyers.add(idOf(buyer));
    }
    if (buyers.size === 0) continue;
    partners.push({ seller: idOf(h), buyers: [...buyers] });
    offersOf.set(
      idOf(h),
      [...buyers].map((partner) => ({ partner, price: random.next(0, 2000), capWh: random.next(0, 1000) })),
    );
    for (const buyer of buyers)
      acceptsOf.set(buyer, [
        ...(acceptsOf.get(buyer) ?? []),
        { partner: idOf(h), capWh: random.next(0, 1000) },
      ]);
  }
  for (let h = 0; h < HOUSEHOLDS; h++) {
    const id = idOf(h);
    const side = random.next(0, 1) === 0 ? ("buy" as const) : ("sell" as const);
    const offers = offersOf.get(id);
    const accepts = acceptsOf.get(id);
    intents.push({
      id,
      side,
      volumeWh: random.next(0, 3000),
      limitPrice: random.next(PRICES.feedIn, PRICES.retail),
      ...(offers === undefined ? {} : { offers }),
      ...(accepts === undefined ? {} : { accepts }),
    });
  }
  const generated = generateRegistry({
    households: intents.map(({ id }) => ({ id, zone: "community", supplier: "s0" })),
    partners,
  });
  return { generated, intents };
}

export async function mpcSlotBenchmarks(): Promise<BenchRow[]> {
  const { generated, intents } = community(17);
  const registry = parseRegistry(generated.file);
  const signers = new Map(intents.map(({ id }) => [id, signerOf(generated.keys, id)]));
  const operator = signerOf(generated.keys, OPERATOR_ID);
  const pairs = registry.pairs.length;
  // Each node on its own PGlite store, as `snippet node` runs by default: intents are written before
  // they are acknowledged, and the slot's changes committed on all three before commitments go out.
  const cluster = await startLocalCluster({ timeoutMs: 120_000, registry: generated, store: "pglite" });
  const client = await NodeClient.connect(cluster.config);
  try {
    const slotTimes: number[] = [];
    const intakeTimes: number[] = [];
    let slotStats: JobStats[] = [];
    for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
      const slot = new Date(Date.UTC(2026, 5, 1, 12, 15 * run)).toISOString();
      const started = performance.now();
      const held = await Promise.all(
        intents.map((intent) =>
          submitIntent(client, registry, slot, intent, signers.get(intent.id) as Signer),
        ),
      );
      const intakeMs = performance.now() - started;
      const outcome = await client.run("clear-slot", { slot, ...PRICES }, new BigUint64Array(0), {
        signer: operator,
      });
      const reference = clearSlot({ slot, prices: PRICES, households: intents });
      const commitments = await Promise.all(held.map((intent) => intent.commitments));
      commitments.forEach((outcome, h) => {
        if (JSON.stringify(outcome.committed) !== JSON.stringify(reference.commitments[h]?.committed))
          throw new Error(`${outcome.id}'s commitments differ from the reference`);
      });
      if (run < WARMUP_RUNS) continue;
      slotStats = outcome.stats;
      slotTimes.push(Math.max(...slotStats.map((s) => s.protocolMs)));
      intakeTimes.push(intakeMs);
    }
    // The community stage alone, on the community book the same slot leaves after stage 1.
    const book = planSlot({
      slot: "2026-06-01T12:00:00Z",
      prices: PRICES,
      households: intents,
    }).communityRequest;
    const prepared = prepareClear(book);
    const expected = JSON.stringify(clearCommunity(book));
    const clearTimes: number[] = [];
    let clearStats: JobStats[] = [];
    for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
      const outcome = await client.run("clear", prepared.params, prepared.inputs, {
        bitWords: prepared.bitWords,
        signer: operator,
      });
      if (JSON.stringify(prepared.finish(outcome.public as ClearPublic, outcome.outputs)) !== expected)
        throw new Error("the community stage differs from the reference");
      if (run < WARMUP_RUNS) continue;
      clearStats = outcome.stats;
      clearTimes.push(Math.max(...clearStats.map((s) => s.protocolMs)));
    }
    const megabytes = (stats: JobStats[]) =>
      (stats.reduce((sum, s) => sum + s.bytesSent, 0) / 3 / 1e6).toFixed(1);
    const communityMs = median(clearTimes);
    const communityRounds = clearStats[0]?.rounds ?? 0;
    const slotRounds = slotStats[0]?.rounds ?? 0;
    return [
      {
        name: "mpc whole slot (intents: validation, caps, bilateral, auction)",
        size: `${HOUSEHOLDS} households, ${pairs} pairs`,
        medianMs: median(slotTimes),
        minMs: Math.min(...slotTimes),
        runs: RUNS,
        targetMs: Math.round(2 * communityMs),
        note: `${slotRounds} rounds (bar ${2 * communityRounds}: 2× the community stage), ${megabytes(slotStats)} MB per party; ${(median(slotTimes) / communityMs).toFixed(1)}× the community stage's time`,
      },
      {
        name: "mpc community stage alone (clear), same slot's book",
        size: `${book.orders.length} orders`,
        medianMs: communityMs,
        minMs: Math.min(...clearTimes),
        runs: RUNS,
        note: `${communityRounds} rounds, ${megabytes(clearStats)} MB per party`,
      },
      {
        name: "households seal and send their intents, all three nodes hold them",
        size: `${HOUSEHOLDS} intents over one connection`,
        medianMs: median(intakeTimes),
        minMs: Math.min(...intakeTimes),
        runs: RUNS,
        note: "sealing, Ed25519 signing and each node's checks",
      },
    ];
  } finally {
    client.close();
    await cluster.stop();
  }
}
