/**
 * The whole slot on three node processes (issue 17): 10,000 households with up to three registered
 * partners each seal their intents to the nodes, the broker clears the slot, and every household's
 * commitments are checked against `clearSlot`; beside it, the community stage alone (the `clear`
 * program) on the same slot's community book; then the live path after delivery: every meter sends its
 * sealed reading, the broker closes the metering, the nodes bill the slot from what they keep
 * (`bill-slot`, every 500th household's bill checked against `billSlot`) and sign its ledger posting
 * (`slot-lines`). Protocol time is the slowest node's.
 * @module
 */
import { type BillingPrices, billSlot, committedTotals } from "../src/billing/index.ts";
import { clearCommunity, clearSlot, type HouseholdIntent, planSlot } from "../src/market/index.ts";
import { BILL_SLOT_PROGRAM } from "../src/private/billing/slot.ts";
import { prepareClear } from "../src/private/clearing/encode.ts";
import type { ClearPublic } from "../src/private/clearing/program.ts";
import type { Signer } from "../src/private/keys.ts";
import {
  generateRegistry,
  meterIdOf,
  OPERATOR_ID,
  parseRegistry,
  privateKeyOf,
  signerOf,
} from "../src/private/registry.ts";
import { closeMetering } from "../src/roles/broker/close.ts";
import { signSlotOnNodes } from "../src/roles/broker/post.ts";
import { ownSlotBills, slotBillOf } from "../src/roles/household/figures.ts";
import { submitIntent } from "../src/roles/household/intent.ts";
import { sendReading } from "../src/roles/meter/readings.ts";
import { NodeClient } from "../src/roles/mpc-node/client.ts";
import type { JobStats } from "../src/roles/mpc-node/jobs.ts";
import { startLocalCluster } from "../src/roles/mpc-node/local-cluster.ts";
import { type BenchRow, median, seededIntegers } from "./support.ts";

const HOUSEHOLDS = 10_000;
const WARMUP_RUNS = 1;
const RUNS = 3;
const PRICES = { feedIn: 500, retail: 2000 };
const BILLING_PRICES: BillingPrices = { ...PRICES, networkFee: 300 };
/** Every this many households fetches its bill and has it checked against the reference. */
const CHECK_EVERY = 500;
/** Any ledger: the nodes sign for a chain and contract without talking to them. */
const LEDGER = { chainId: 31337, contract: "0x5FbDB2315678afecb367f032d7c1b8b1d7cd9a7e" } as const;

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
    const readingTimes: number[] = [];
    const billedTimes: number[] = [];
    const signedTimes: number[] = [];
    let billStats: JobStats[] = [];
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
      const delivered = await billAfterDelivery(client, slot, reference, commitments, {
        operator,
        signers,
        meterKey: (id) => privateKeyOf(generated.keys, "meters", meterIdOf(id)),
      });
      if (run < WARMUP_RUNS) continue;
      slotStats = outcome.stats;
      slotTimes.push(Math.max(...slotStats.map((s) => s.protocolMs)));
      intakeTimes.push(intakeMs);
      readingTimes.push(delivered.readingsMs);
      billedTimes.push(delivered.billedMs);
      signedTimes.push(delivered.signedMs);
      billStats = delivered.billStats;
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
        name: "metering close → slot billed on the nodes (meter-close + bill-slot)",
        size: `${HOUSEHOLDS} households`,
        medianMs: median(billedTimes),
        minMs: Math.min(...billedTimes),
        runs: RUNS,
        targetMs: 5_000,
        note: `bar: live.md's 5 s after metering close; bill-slot ${billStats[0]?.rounds ?? 0} rounds, ${megabytes(billStats)} MB per party`,
      },
      {
        name: "billed → the nodes' signed ledger posting (slot-lines)",
        size: `${HOUSEHOLDS} lines`,
        medianMs: median(signedTimes),
        minMs: Math.min(...signedTimes),
        runs: RUNS,
        note: "each node digests its shares of every line, the digests are exchanged, each signs its root",
      },
      {
        name: "meters seal and send their readings, all three nodes hold them",
        size: `${HOUSEHOLDS} readings over one connection`,
        medianMs: median(readingTimes),
        minMs: Math.min(...readingTimes),
        runs: RUNS,
        note: "sealing, signing and each node's checks",
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

/**
 * After the slot's delivery: every meter sends a reading (its committed import or export, off by up
 * to 10 %), the operator closes the metering and has the nodes bill the slot and sign its posting.
 * Every {@link CHECK_EVERY}th household's bill is checked against the reference's.
 */
async function billAfterDelivery(
  client: NodeClient,
  slot: string,
  reference: ReturnType<typeof clearSlot>,
  outcomes: readonly {
    readonly id: string;
    readonly committed: ReturnType<typeof clearSlot>["commitments"][number]["committed"];
  }[],
  parties: {
    readonly operator: Signer;
    readonly signers: ReadonlyMap<string, Signer>;
    readonly meterKey: (household: string) => Parameters<typeof sendReading>[1]["key"];
  },
): Promise<{ readingsMs: number; billedMs: number; signedMs: number; billStats: JobStats[] }> {
  const random = seededIntegers(Date.parse(slot) % 1_000_003);
  const households = outcomes.map(({ id, committed }) => {
    const { importWh, exportWh } = committedTotals({ id, committed, metered: { importWh: 0, exportWh: 0 } });
    const actualWh = Math.round(((importWh - exportWh) * random.next(90, 110)) / 100);
    const metered =
      actualWh >= 0 ? { importWh: actualWh, exportWh: 0 } : { importWh: 0, exportWh: -actualWh };
    return { id, committed, metered };
  });
  const started = performance.now();
  const refusals = await Promise.all(
    households.map(({ id, metered }) =>
      sendReading(client, { id: meterIdOf(id), key: parties.meterKey(id) }, slot, metered),
    ),
  );
  const refused = refusals.find((refusal) => refusal !== null);
  if (refused !== undefined) throw new Error(`a reading was refused: ${refused}`);
  const readingsMs = performance.now() - started;
  const closing = performance.now();
  await closeMetering(client, slot, parties.operator);
  const billed = await client.run(
    BILL_SLOT_PROGRAM,
    { slot, ...BILLING_PRICES, model: "ucs-uniform" },
    new BigUint64Array(0),
    { signer: parties.operator },
  );
  const billedMs = performance.now() - closing;
  const signing = performance.now();
  await signSlotOnNodes(client, slot, LEDGER, parties.operator);
  const signedMs = performance.now() - signing;
  const expected = billSlot(
    { slot, prices: BILLING_PRICES, clearingPrice: reference.community.clearingPrice, households },
    "ucs-uniform",
  );
  for (let h = 0; h < households.length; h += CHECK_EVERY) {
    const { id, committed } = households[h] as (typeof households)[number];
    const [words] = await ownSlotBills(client, [slot], parties.signers.get(id) as Signer);
    if (words === null || words === undefined) throw new Error(`the nodes keep no bill of ${id}`);
    const bill = slotBillOf(id, words, committed, {
      prices: BILLING_PRICES,
      clearingPrice: reference.community.clearingPrice,
    });
    if (bill.money !== expected.bills[h]?.money)
      throw new Error(
        `${id}'s bill (${bill.money}) differs from the reference's (${expected.bills[h]?.money})`,
      );
  }
  return { readingsMs, billedMs, signedMs, billStats: billed.stats };
}
