/**
 * Reference clearing benchmarks (issue: 10,000 orders <= 20 ms, 100,000 <= 200 ms): the community
 * auction on books of half buys, half sells at tariff-band prices; also validation, zones and the
 * whole `snippet clear` process, for information.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { clearCommunity } from "../src/market/clear.ts";
import { parseClearRequest } from "../src/market/schema.ts";
import type { ClearRequest, Order } from "../src/market/types.ts";
import { type BenchRow, measure, seededIntegers } from "./support.ts";

/**
 * A book of `count` orders, half buys and half sells, limits uniform in [feedIn, retail], 0.1–5 kWh
 * each. With zones, sellers crowd into the first half of the zones and buyers into the second (a
 * sunny hill and a town), and the limits are tight, so that zones split off.
 */
export function randomBook(count: number, seed: number, zoneCount = 0): ClearRequest {
  const random = seededIntegers(seed);
  const prices = { feedIn: 500, retail: 2000 };
  const half = Math.max(1, Math.floor(zoneCount / 2));
  const orders: Order[] = [];
  for (let i = 0; i < count; i++) {
    const side = i % 2 === 0 ? "buy" : "sell";
    const order: Order = {
      id: `o${i}`,
      side,
      volumeWh: random.next(100, 5000),
      limitPrice: random.next(prices.feedIn, prices.retail),
    };
    if (zoneCount === 0) orders.push(order);
    else {
      const crowded = random.next(0, 9) < 8;
      const zone =
        crowded === (side === "sell") ? random.next(0, half - 1) : random.next(half, zoneCount - 1);
      orders.push({ ...order, zone: `z${zone}` });
    }
  }
  if (zoneCount === 0) return { version: 1, slot: "2026-06-01T12:00:00Z", prices, orders };
  const limitWh = Math.round((count * 2500) / zoneCount / 4);
  const zones = Array.from({ length: zoneCount }, (_, z) => ({
    id: `z${z}`,
    exportLimitWh: limitWh,
    importLimitWh: limitWh + z * 50_000,
  }));
  return { version: 1, slot: "2026-06-01T12:00:00Z", prices, orders, zones };
}

export function clearingBenchmarks(): BenchRow[] {
  const rows: BenchRow[] = [];
  const targets: Record<number, number> = { 10000: 20, 100000: 200 };
  for (const count of [1_000, 10_000, 100_000]) {
    const book = randomBook(count, count);
    const timing = measure(() => clearCommunity(book), count >= 100_000 ? 9 : 31, 3);
    const target = targets[count];
    rows.push({
      name: "reference clearing",
      size: `${count} orders`,
      ...timing,
      ...(target === undefined ? {} : { targetMs: target }),
    });
  }
  for (const count of [10_000, 100_000]) {
    const json = JSON.stringify(randomBook(count, count));
    rows.push({
      name: "parse + validate + clear",
      size: `${count} orders`,
      ...measure(() => clearCommunity(parseClearRequest(JSON.parse(json))), 9, 2),
      note: "JSON text to result",
    });
  }
  const zoned = randomBook(10_000, 7, 8);
  const zonedResult = clearCommunity(zoned);
  const zonesSplit = zonedResult.zones?.filter(
    (zone) => zone.clearingPrice !== zonedResult.clearingPrice,
  ).length;
  rows.push({
    name: "clearing with market splitting",
    size: "10000 orders, 8 zones",
    ...measure(() => clearCommunity(zoned), 15, 2),
    note: `${zonesSplit ?? 0} of 8 zones split off with their own price`,
  });
  rows.push(wholeProcess(10_000));
  return rows;
}

/** `snippet clear` as a user runs it: process start, read, validate, clear, write. */
function wholeProcess(count: number): BenchRow {
  const dir = mkdtempSync(join(tmpdir(), "snippet-bench-"));
  const file = join(dir, "book.json");
  writeFileSync(file, JSON.stringify(randomBook(count, count)));
  const bin = fileURLToPath(new URL("../bin/snippet.js", import.meta.url));
  try {
    const timing = measure(() => {
      const run = spawnSync(process.execPath, [bin, "clear", file], {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      if (run.status !== 0) throw new Error(`snippet clear failed: ${run.stderr}`);
    }, 7);
    return { name: "snippet clear process", size: `${count} orders`, ...timing, note: "node start to exit" };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
