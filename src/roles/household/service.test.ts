import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import pino from "pino";
import {
  pastCalendar,
  referenceRecords,
  serveTestBoard,
  TestBoard,
  TestMarket,
} from "../../../test/support/household-market.ts";
import { ServiceProcess } from "../../../test/support/service-process.ts";
import { registryKeysPath } from "../../private/registry.ts";
import { parseScenario } from "../../sim/scenario.ts";
import { ValidationError } from "../../validation/index.ts";
import type { HomeStatus } from "./home.ts";
import { readOwnRecords } from "./records.ts";
import type { HouseholdHealth } from "./service.ts";
import { startHouseholdService } from "./service.ts";

/** Three neighbours at noon: Alice sells to Bob, Carol sells in the community. */
const SCENARIO = {
  version: 1,
  name: "neighbours",
  roles: "S1",
  start: "2026-06-01T11:00:00Z",
  slotMinutes: 15,
  site: { latitudeDeg: 50.85, longitudeDeg: 4.35, meanTemperatureC: 10.5, cloudiness: 0.55 },
  tariff: { feedIn: 500, retail: 2800, networkFee: 350 },
  households: [
    {
      id: "alice",
      assets: { annualKwh: 3200, pv: { kWp: 5.5, tiltDeg: 40, azimuthDeg: 15 } },
      preferences: { offers: [{ partner: "bob", price: 1500, capWh: 400 }] },
    },
    {
      id: "bob",
      assets: { annualKwh: 2800 },
      preferences: { accepts: [{ partner: "alice", capWh: 400, maxPrice: 1800 }] },
    },
    { id: "carol", assets: { annualKwh: 4200, pv: { kWp: 6.5, tiltDeg: 30, azimuthDeg: 30 } } },
  ],
};
const NEIGHBOURS = parseScenario(SCENARIO);
const IDS = NEIGHBOURS.households.map((household) => household.id);
const METERS = IDS.map((id) => `meter-${id}`);
const SEED = 3;
const SLOTS = 3;

const work = mkdtempSync(join(tmpdir(), "snippet-household-service-"));
let market: TestMarket;
let board: TestBoard;
let served: Awaited<ReturnType<typeof serveTestBoard>>;
before(async () => {
  market = await TestMarket.start(NEIGHBOURS);
  board = new TestBoard(pastCalendar(NEIGHBOURS, SLOTS));
  served = await serveTestBoard(board);
  writeFileSync(join(work, "neighbours.json"), JSON.stringify(SCENARIO));
});
after(async () => {
  await served?.close();
  await market?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Writes households.json (with `changes`) beside the scenario. @returns its path. */
function writeConfig(name: string, changes: Record<string, unknown> = {}): string {
  const path = join(work, name);
  const nodes = market.cluster.configPath;
  writeFileSync(
    path,
    JSON.stringify({
      broker: served.url,
      nodes,
      keys: registryKeysPath(market.cluster.config.registryPath as string),
      scenario: "neighbours.json",
      seed: SEED,
      agents: "rule-based",
      households: "all",
      store: "households-db",
      homeBus: { url: market.bus.url },
      health: { host: "127.0.0.1", port: 0 },
      ...changes,
    }),
  );
  return path;
}

async function health(port: number): Promise<HouseholdHealth> {
  return (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as HouseholdHealth;
}

/** Waits until the process's homes have done `count` of a kind of step. */
async function untilDone(port: number, kind: keyof HouseholdHealth["slots"], count: number): Promise<void> {
  while ((await health(port)).slots[kind] < count) await setTimeout(25);
}

describe("snippet household", { timeout: 120_000 }, () => {
  it("refuses what it cannot run, naming the field", async () => {
    const log = pino({ level: "silent" });
    const refusals: [string, { id: string } | { many: true }, RegExp][] = [
      [
        writeConfig("representatives.json", { scenario: "winter-cooperative" }),
        { many: true },
        /scenario: winter-cooperative has representatives trading for their clients \(roles S2\); snippet household runs households that trade themselves/,
      ],
      [
        writeConfig("listed.json", { households: ["alice", "bob"] }),
        { id: "carol" },
        /--id: "carol" is not one of the households/,
      ],
      [
        writeConfig("stranger.json", { households: ["alice", "zoe"] }),
        { many: true },
        /households\[1\]: "zoe" is not a household of scenario neighbours/,
      ],
      [
        writeConfig("bad.json", { seed: -1, homeBus: { url: "http://x" } }),
        { many: true },
        /seed: is negative/,
      ],
    ];
    for (const [config, selection, reason] of refusals)
      await assert.rejects(startHouseholdService(config, selection, log), (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.match(error.issues.map((issue) => `${issue.path}: ${issue.message}`).join("\n"), reason);
        return true;
      });
  });

  it("runs many homes in one process that, killed mid-slot and started again, keep every record once", async () => {
    const config = writeConfig("households.json");
    let homes = new ServiceProcess("household", config, ["--many"]);
    try {
      let port = (await homes.ready()).healthPort as number;
      assert.deepEqual((await health(port)).homes, 3);
      market.open(board, 0);
      await untilDone(port, "sent", 3);
      await market.clear(board, 0);
      market.open(board, 1);
      await untilDone(port, "sent", 6);
      await market.clear(board, 1);
      // Killed while the homes learn slot 1; slot 0 is billed meanwhile.
      await homes.kill();
      await market.bill(board, 0, METERS);
      homes = new ServiceProcess("household", config, ["--many"]);
      port = (await homes.ready()).healthPort as number;
      market.open(board, 2);
      await untilDone(port, "sent", 3);
      assert.deepEqual((await health(port)).slots.refused, 0, "no intent sent twice");
      await market.clear(board, 2);
      await market.bill(board, 1, METERS);
      await market.bill(board, 2, METERS);
      await untilDone(port, "recorded", 3 * SLOTS);
      const { published, ...bob } = (await (
        await fetch(`http://127.0.0.1:${port}/health/households/bob`)
      ).json()) as HomeStatus;
      // Since its restart Bob sent one intent (slot 2) and recorded three slots in all.
      assert.deepEqual(bob, { id: "bob", nextSlot: 3, recorded: 3, sent: 1, refused: 0, supplierOnly: 0 });
      assert.ok(published >= 1, "slot 2's reading was published");
      const stranger = await fetch(`http://127.0.0.1:${port}/health/households/zoe`);
      assert.equal(stranger.status, 404);
      assert.equal(await homes.stop(), 0, homes.log);
      assert.ok(homes.lines().some((line) => line.msg === "stopped"));
    } finally {
      await homes.kill();
    }
    const reference = await referenceRecords(NEIGHBOURS, SEED, SLOTS);
    const kept = await readOwnRecords(join(work, "households-db"), IDS);
    IDS.forEach((id, h) => {
      assert.deepStrictEqual(
        kept.get(id),
        reference.map(({ index, slot, prices, clearingPrice, communityVolumeWh, households }) => ({
          index,
          slot,
          prices,
          clearingPrice,
          communityVolumeWh,
          own: households[h],
        })),
        `${id}'s records`,
      );
    });
  });
});
