/**
 * Simulation benchmark (issue: 1,000 households for 365 days, 35,040 slots, with the reference engine
 * <= 3 min and <= 2 GB RSS): `snippet simulate` as a user runs it, profiles, market, billing, storage,
 * CSVs and report included, measured from outside the process.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchRow } from "./support.ts";
import { seededIntegers } from "./support.ts";

/**
 * A community of `count` households: 40 % with PV (half of them with a home battery), 15 % with an EV,
 * 15 % with a heat pump, some partners.
 */
export function largeScenario(count: number, seed: number): unknown {
  const random = seededIntegers(seed);
  const households = Array.from({ length: count }, (_, h) => {
    const assets: Record<string, unknown> = { annualKwh: random.next(1500, 6000) };
    if (h % 5 < 2)
      assets.pv = {
        kWp: random.next(30, 90) / 10,
        tiltDeg: random.next(20, 40),
        azimuthDeg: random.next(-60, 60),
      };
    if (h % 5 === 1) assets.battery = { capacityKwh: random.next(5, 13), powerKw: random.next(3, 6) };
    if (h % 7 === 3) {
      assets.ev = {
        batteryKwh: 60,
        chargerKw: 11,
        arrivalHour: random.next(16, 20),
        departureHour: random.next(6, 9),
        dailyKwh: random.next(5, 15),
      };
    }
    if (h % 7 === 5) {
      assets.heatPump = {
        heatLossWPerK: random.next(100, 220),
        thermalCapacityKwhPerK: 10,
        ratedKw: 3,
        minTemperatureC: 20,
        maxTemperatureC: 22,
      };
    }
    const partner = `h${(h + 1) % count}`;
    const preferences =
      h % 10 === 0
        ? { offers: [{ partner, price: 1500, capWh: 300 }] }
        : h % 10 === 9
          ? { accepts: [{ partner: `h${(h + count - 1) % count}`, capWh: 300 }] }
          : undefined;
    return { id: `h${h}`, assets, ...(preferences === undefined ? {} : { preferences }) };
  });
  return {
    version: 1,
    name: `bench-${count}`,
    roles: "S1",
    start: "2026-01-01T00:00:00Z",
    slotMinutes: 15,
    site: { latitudeDeg: 50.85, longitudeDeg: 4.35, meanTemperatureC: 10.5, cloudiness: 0.55 },
    tariff: { feedIn: 500, retail: 2800, networkFee: 350 },
    households,
  };
}

/** Runs `snippet simulate` once under GNU time (with `extraArgs`) and reads its wall time and peak RSS. */
export function timedSimulation(
  households: number,
  days: number,
  extraArgs: readonly string[] = [],
): { seconds: number; peakRssMiB: number } {
  const dir = mkdtempSync(join(tmpdir(), "snippet-bench-sim-"));
  try {
    const scenarioFile = join(dir, "scenario.json");
    writeFileSync(scenarioFile, JSON.stringify(largeScenario(households, 1)));
    const bin = fileURLToPath(new URL("../bin/snippet.js", import.meta.url));
    const run = spawnSync(
      "/usr/bin/time",
      [
        "-f",
        "%e %M",
        process.execPath,
        bin,
        "simulate",
        "--scenario",
        scenarioFile,
        "--days",
        String(days),
        "--seed",
        "1",
        "--out",
        join(dir, "out"),
        ...extraArgs,
      ],
      { encoding: "utf8", maxBuffer: 64 << 20 },
    );
    if (run.status !== 0) throw new Error(`snippet simulate failed: ${run.stderr.slice(-2000)}`);
    const [seconds, peakKiB] = (run.stderr.trim().split("\n").pop() ?? "").split(" ").map(Number);
    return { seconds: seconds ?? Number.NaN, peakRssMiB: Math.round((peakKiB ?? 0) / 1024) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function simulationBenchmarks(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [households, days, targetMs] of [
    [30, 2, 30_000],
    [1_000, 365, 180_000],
  ] as const) {
    const { seconds, peakRssMiB } = timedSimulation(households, days);
    rows.push({
      name: "snippet simulate (reference engine)",
      size: `${households} households x ${days} days`,
      medianMs: seconds * 1000,
      minMs: seconds * 1000,
      runs: 1,
      targetMs,
      note: `peak RSS ${peakRssMiB} MiB (bar: 2048)`,
    });
  }
  return rows;
}
