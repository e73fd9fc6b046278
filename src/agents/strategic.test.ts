import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { MemoryRunStore } from "../../test/support/memory-store.ts";
import type { SlotRecord } from "../billing/record.ts";
import { thermalStep } from "../profiles/heat-pump.ts";
import { seededRandom, syntheticProfiles } from "../profiles/index.ts";
import type { HouseholdAssets, SlotConditions, SlotEnergy } from "../profiles/types.ts";
import { type AgentSetup, timeGridOf } from "../sim/community.ts";
import { compareAgents } from "../sim/compare.ts";
import { runSimulation } from "../sim/run.ts";
import { parseScenario, type Scenario, tariffAt } from "../sim/scenario.ts";
import { ValidationError } from "../validation/index.ts";
import type { AgentHousehold } from "./agent.ts";
import { Outlook } from "./forecast.ts";
import { highsSolver, type LinearProgram, type LpSolver } from "./solver.ts";
import { strategicAgent } from "./strategic.ts";

const shipped = (name: string): Scenario =>
  parseScenario(JSON.parse(readFileSync(new URL(`../../scenarios/${name}.json`, import.meta.url), "utf8")));

/** A small scenario around the households given, on a flat or time-of-use tariff. */
function scenarioWith(
  households: readonly {
    id: string;
    assets: HouseholdAssets;
    connectionCapWh?: number;
    preferences?: object;
  }[],
  overrides: Record<string, unknown> = {},
): Scenario {
  return parseScenario({
    version: 1,
    name: "strategic-test",
    roles: "S1",
    start: "2026-01-12T00:00:00Z",
    slotMinutes: 15,
    site: { latitudeDeg: 50.85, longitudeDeg: 4.35, meanTemperatureC: 10.5, cloudiness: 0.55 },
    tariff: { feedIn: 500, retail: 2800, networkFee: 350 },
    households,
    ...overrides,
  });
}

/** A solver that counts its solves. */
function counting(solver: LpSolver): LpSolver & { solves: number } {
  const counted = {
    solves: 0,
    solve(program: LinearProgram) {
      counted.solves += 1;
      return solver.solve(program);
    },
    close: () => solver.close(),
  };
  return counted;
}

async function simulate(
  scenario: Scenario,
  days: number,
  agents: AgentSetup,
  store = new MemoryRunStore(),
  resume = false,
): Promise<{
  slots: SlotRecord[];
  store: MemoryRunStore;
  result: Awaited<ReturnType<typeof runSimulation>>;
}> {
  const profiles = syntheticProfiles(
    scenario.households,
    scenario.site,
    timeGridOf(scenario, days),
    seededRandom(3).fork("profiles"),
  );
  const result = await runSimulation({ scenario, days, seed: 3, store, resume, profiles, agents });
  return { slots: [...store.runs.values()][0]?.slots ?? [], store, result };
}

const battery = { capacityKwh: 10, powerKw: 5 };
const ev = { batteryKwh: 60, chargerKw: 11, arrivalHour: 18, departureHour: 7, dailyKwh: 12 };
const heatPump = {
  heatLossWPerK: 150,
  thermalCapacityKwhPerK: 10,
  ratedKw: 3,
  minTemperatureC: 20,
  maxTemperatureC: 22,
};

describe("strategic agents", () => {
  let solver: LpSolver;
  before(async () => {
    solver = await highsSolver();
  });
  after(() => solver.close());

  it("charge a battery in the cheap hours of a time-of-use tariff and discharge it in the dear ones", async () => {
    const scenario = scenarioWith([{ id: "home", assets: { annualKwh: 4000, battery } }], {
      tariff: {
        timeOfUse: [
          { fromHour: 0, toHour: 6, feedIn: 300, retail: 1200, networkFee: 200 },
          { fromHour: 6, toHour: 17, feedIn: 300, retail: 2800, networkFee: 200 },
          { fromHour: 17, toHour: 21, feedIn: 300, retail: 4000, networkFee: 200 },
          { fromHour: 21, toHour: 24, feedIn: 300, retail: 2800, networkFee: 200 },
        ],
      },
    });
    const { slots } = await simulate(scenario, 2, { kind: "strategic", solver });
    let cheapImportWh = 0;
    let dearImportWh = 0;
    for (const record of slots) {
      const hour = new Date(record.slot).getUTCHours();
      const importWh = (record.households[0] as SlotRecord["households"][number]).metered.importWh;
      if (hour < 6) cheapImportWh += importWh;
      if (hour >= 17 && hour < 21) dearImportWh += importWh;
    }
    const rule = await simulate(scenario, 2, { kind: "rule-based" });
    const ruleDearWh = rule.slots
      .filter(
        (record) => new Date(record.slot).getUTCHours() >= 17 && new Date(record.slot).getUTCHours() < 21,
      )
      .reduce((sum, record) => sum + (record.households[0]?.metered.importWh ?? 0), 0);
    assert.ok(cheapImportWh > 0);
    assert.ok(dearImportWh < ruleDearWh / 2, `dear-hour imports ${dearImportWh} Wh against ${ruleDearWh} Wh`);
  });

  it("charge every EV stay with what it needs before departure, and only while the car is home", async () => {
    const scenario = scenarioWith([{ id: "driver", assets: { annualKwh: 3000, ev } }]);
    const slots = await drive(scenario, 4, solver);
    const byStay = new Map<number, { needWh: number; departMs: number; chargedWh: number }>();
    for (const { conditions, decision } of slots) {
      const session = conditions.evSessions[0] ?? null;
      if (session === null) {
        assert.equal(decision.energy.evWh, 0, "no charging while the car is away");
        continue;
      }
      const stay = byStay.get(session.arriveMs) ?? { ...session, chargedWh: 0 };
      stay.chargedWh += decision.energy.evWh;
      byStay.set(session.arriveMs, stay);
    }
    const endMs = Date.parse(scenario.start) + 4 * 86_400_000;
    const whole = [...byStay.values()].filter((stay) => stay.departMs <= endMs);
    assert.ok(whole.length >= 3, "three whole stays inside the run");
    for (const stay of whole)
      assert.ok(
        Math.abs(stay.chargedWh - stay.needWh) <= 2,
        `charged ${stay.chargedWh} of ${stay.needWh} Wh`,
      );
  });

  it("keep the room in its comfort band in winter", async () => {
    const scenario = scenarioWith([{ id: "warm", assets: { annualKwh: 3000, heatPump } }]);
    const slots = await drive(scenario, 3, solver);
    let roomC = (heatPump.minTemperatureC + heatPump.maxTemperatureC) / 2;
    let heatedWh = 0;
    for (const { conditions, decision } of slots) {
      const step = thermalStep(heatPump, conditions.outdoorTemperatureC, 900);
      roomC = step.decay * roomC + step.driftC + step.warmingCPerWh * decision.energy.heatPumpWh;
      heatedWh += decision.energy.heatPumpWh;
      assert.ok(decision.energy.heatPumpWh <= 750, "never above the rated power");
      assert.ok(
        roomC >= heatPump.minTemperatureC - 0.05 && roomC <= heatPump.maxTemperatureC + 0.05,
        `room at ${roomC} °C`,
      );
    }
    assert.ok(heatedWh > 0, "it heats");
  });

  it("re-plan at the configured interval", async () => {
    const scenario = scenarioWith([
      { id: "a", assets: { annualKwh: 3000, battery } },
      { id: "b", assets: { annualKwh: 3000 } },
    ]);
    for (const [replanHours, expected] of [
      [4, 6],
      [1, 24],
    ] as const) {
      const counted = counting(solver);
      await simulate(scenario, 1, { kind: "strategic", solver: counted, replanHours });
      // Only the household with a battery plans; the other has nothing to move.
      assert.equal(counted.solves, expected);
    }
  });

  it("name the setting when an EV's usual day cannot be charged in its usual stay", async () => {
    const scenario = scenarioWith([
      { id: "ok", assets: { annualKwh: 3000 } },
      {
        id: "far",
        assets: {
          annualKwh: 3000,
          ev: { ...ev, chargerKw: 1, dailyKwh: 40, arrivalHour: 20, departureHour: 6 },
        },
      },
    ]);
    await assert.rejects(
      simulate(scenario, 1, { kind: "strategic", solver }),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.some(
          (issue) => issue.path === "households[1].assets.ev.dailyKwh" && /40 kWh a day/.test(issue.message),
        ),
    );
  });

  it("name the connection cap when it is too tight to keep the room warm", async () => {
    const scenario = scenarioWith([
      { id: "ok", assets: { annualKwh: 3000 } },
      { id: "cold", assets: { annualKwh: 3000, heatPump }, connectionCapWh: 10 },
    ]);
    await assert.rejects(
      simulate(scenario, 1, { kind: "strategic", solver }),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.some(
          (issue) =>
            issue.path === "households[1].connectionCapWh" &&
            /10 Wh per slot is too little/.test(issue.message),
        ),
    );
  });

  it("resume a killed run with the same results as an uninterrupted one", async () => {
    const scenario = scenarioWith([
      { id: "a", assets: { annualKwh: 3000, battery, pv: { kWp: 6, tiltDeg: 35, azimuthDeg: 0 } } },
      { id: "b", assets: { annualKwh: 3000, heatPump } },
      { id: "c", assets: { annualKwh: 3000 } },
    ]);
    const whole = await simulate(scenario, 2, { kind: "strategic", solver });
    const store = new MemoryRunStore();
    store.failAtSlot = 96 + 10;
    await assert.rejects(simulate(scenario, 2, { kind: "strategic", solver }, store), /killed/);
    store.failAtSlot = null;
    const resumed = await simulate(scenario, 2, { kind: "strategic", solver }, store, true);
    assert.equal(resumed.result.resumedFrom, 96);
    assert.deepEqual(resumed.slots, whole.slots);
  });

  it("trade through their representative: aggregate fills go back to the clients pro rata", async () => {
    const scenario = shipped("winter-cooperative");
    const { slots } = await simulate(scenario, 1, { kind: "strategic", solver });
    const represented = new Set(
      scenario.households.filter((h) => h.representative !== undefined).map((h) => h.id),
    );
    let clientsCommunityWh = 0;
    for (const record of slots) {
      for (const household of record.households) {
        if (!represented.has(household.id)) continue;
        assert.equal(household.order, null, "a represented household never orders itself");
        clientsCommunityWh += household.committed.communityBuyWh + household.committed.communitySellWh;
      }
      const bought = record.households.reduce((sum, h) => sum + h.committed.communityBuyWh, 0);
      assert.equal(bought, record.communityVolumeWh, `${record.slot}: fills add up to the volume`);
    }
    assert.ok(clientsCommunityWh > 0, "the cooperative traded for its clients");
  });

  it("lower the households' total cost on every shipped scenario (same seed)", async () => {
    for (const name of ["default", "winter-cooperative", "congested-feeder", "half-hourly-brokers"]) {
      const scenario = shipped(name);
      const days = 3;
      const { rows } = await compareAgents({
        scenario,
        days,
        seed: 1,
        profiles: () =>
          syntheticProfiles(
            scenario.households,
            scenario.site,
            timeGridOf(scenario, days),
            seededRandom(1).fork("profiles"),
          ),
        store: async () => new MemoryRunStore(),
        strategic: { kind: "strategic", solver },
      });
      const [rule, strategic] = rows;
      assert.ok(rule !== undefined && strategic !== undefined);
      assert.ok(
        strategic.householdCostMoney < rule.householdCostMoney,
        `${name}: strategic ${strategic.householdCostMoney} against rule-based ${rule.householdCostMoney}`,
      );
      assert.ok(strategic.selfConsumption >= 0 && strategic.selfConsumption <= 1);
    }
  });
});

/**
 * Drives the strategic agent of a one-household scenario slot by slot, as the slot loop would, and
 * returns each slot's conditions and decision.
 */
async function drive(scenario: Scenario, days: number, solver: LpSolver) {
  const grid = timeGridOf(scenario, days);
  const profiles = syntheticProfiles(
    scenario.households,
    scenario.site,
    grid,
    seededRandom(3).fork("profiles"),
  );
  const household = scenario.households[0] as AgentHousehold;
  const agent = strategicAgent(
    household,
    { solver, startMs: grid.startMs, slotMinutes: 15 },
    "households[0]",
  );
  const outlook = new Outlook(grid.startMs, 900_000, (slotStartMs) => tariffAt(scenario, slotStartMs));
  const slots = [];
  for (let index = 0; index < grid.slotCount; index++) {
    const slotStartMs = grid.startMs + index * 900_000;
    const forecast = profiles.slot(index)[0] as SlotEnergy;
    const conditions = profiles.conditions?.(index) as SlotConditions;
    outlook.recordWeather(slotStartMs, conditions.outdoorTemperatureC);
    const decision = await agent.plan({
      slotStartMs,
      prices: tariffAt(scenario, slotStartMs),
      forecast,
      weather: conditions,
      evSession: conditions.evSessions[0] ?? null,
      outlook,
    });
    agent.observe({ slotStartMs, actual: decision.energy, donatedWh: 0, communityFill: null });
    outlook.recordClearing(slotStartMs, null);
    slots.push({ conditions, decision });
  }
  return slots;
}
