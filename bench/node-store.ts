/**
 * A node's store at 10,000 households: the compaction of its journal (a snapshot of what it keeps,
 * written in one transaction to PGlite) and the replay of that snapshot when the node starts, for a
 * day of 15-minute slots' readings, commitments and bills.
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Shared } from "../src/mpc/arithmetic.ts";
import { BILL_OUTPUTS, COMMITMENT_COLUMNS } from "../src/private/billing/layout.ts";
import { sharesToText } from "../src/private/changes.ts";
import { generateRegistry, parseRegistry, type Registry } from "../src/private/registry.ts";
import { snippetApplication } from "../src/roles/mpc-node/application.ts";
import { openNodeJournal } from "../src/roles/mpc-node/journal.ts";
import { NodeState } from "../src/roles/mpc-node/node-state.ts";
import { type BenchRow, median, seededIntegers } from "./support.ts";

const HOUSEHOLDS = 10_000;
const SLOTS = 96;
const RUNS = 3;
/** Words a household's commitments take in a slot: its community fill and two partners. */
const COMMITMENT_WORDS = 3;

function randomShares(random: ReturnType<typeof seededIntegers>, words: number): Shared {
  const draw = () => BigUint64Array.from({ length: words }, () => BigInt(random.next(0, 2 ** 31)));
  return { own: draw(), next: draw() };
}

/** Fills a node's state with a day of slots: every meter's readings, every household's commitments and bills. */
function fillDay(state: NodeState, registry: Registry): void {
  const random = seededIntegers(17);
  const { meters, commitments, bills } = state.application.context("fill", undefined);
  if (meters === undefined || commitments === undefined || bills === undefined)
    throw new Error("the node keeps no registry");
  const households = [...registry.meterOf.keys()];
  const meterIds = households.map((household) => registry.meterOf.get(household) as string);
  for (let t = 0; t < SLOTS; t++) {
    const slot = new Date(Date.UTC(2026, 5, 1) + t * 900_000).toISOString();
    meters.restore({
      kind: "metering-kept",
      data: {
        slot,
        meters: meterIds,
        importWh: sharesToText(randomShares(random, HOUSEHOLDS)),
        exportWh: sharesToText(randomShares(random, HOUSEHOLDS)),
        implausible: [],
      },
    });
    const outputs = new Map(households.map((id) => [id, randomShares(random, COMMITMENT_WORDS)]));
    const figures = { slot, prices: { feedIn: 500, retail: 2000 }, clearingPrice: 1200, volumeWh: 0 };
    commitments.keep(slot, outputs, {
      figures,
      refused: [],
      leftOut: [],
      columns: randomShares(random, HOUSEHOLDS * COMMITMENT_COLUMNS.length),
    });
    bills.keep(slot, households, randomShares(random, HOUSEHOLDS * BILL_OUTPUTS.length));
  }
}

export async function nodeStoreBenchmarks(): Promise<BenchRow[]> {
  const generated = generateRegistry({
    households: Array.from({ length: HOUSEHOLDS }, (_, h) => ({
      id: `h${h}`,
      zone: `z${h % 10}`,
      supplier: "s0",
    })),
  });
  const registry = parseRegistry(generated.file);
  const folder = await mkdtemp(join(tmpdir(), "snippet-bench-store-"));
  const place = join(folder, "node");
  const load = async () => {
    const journal = await openNodeJournal(place, "bench");
    const state = await NodeState.load(
      journal,
      (recorder) => snippetApplication(1, registry, recorder),
      registry,
      Date.now,
    );
    return { journal, state };
  };
  try {
    const first = await load();
    fillDay(first.state, registry);
    const captures: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      first.state.application.snapshot();
      captures.push(performance.now() - started);
    }
    const compactions: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      await first.state.compact();
      compactions.push(performance.now() - started);
    }
    const snapshotMiB = first.journal.size().snapshotBytes / 2 ** 20;
    await first.journal.close();
    const replays: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      const again = await load();
      replays.push(performance.now() - started);
      await again.journal.close();
    }
    const size = `${HOUSEHOLDS} households × ${SLOTS} slots`;
    const kept = `readings, commitments (${COMMITMENT_WORDS} words) and bills: a ${snapshotMiB.toFixed(0)} MiB snapshot`;
    return [
      {
        name: "node store: take the snapshot (the job loop waits)",
        size,
        medianMs: median(captures),
        minMs: Math.min(...captures),
        runs: RUNS,
        note: "the state's changes, shares as base64; serialised later, part by part",
      },
      {
        name: "node store: compact the journal (PGlite)",
        size,
        medianMs: median(compactions),
        minMs: Math.min(...compactions),
        runs: RUNS,
        note: `${kept}, written in 4 MiB parts while appends go on`,
      },
      {
        name: "node store: replay a snapshot at start (PGlite)",
        size,
        medianMs: median(replays),
        minMs: Math.min(...replays),
        runs: RUNS,
        note: `${kept}; open, read and rebuild the state`,
      },
    ];
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
