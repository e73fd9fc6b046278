import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { propertyOptions } from "../../test/support/property.ts";
import { type ThermalStep, thermalStep } from "../profiles/heat-pump.ts";
import type { HeatPumpAssets } from "../profiles/types.ts";
import { ValidationError } from "../validation/index.ts";
import { type BatteryState, type Plan, type PlanningProblem, planHousehold } from "./planner.ts";
import { highsSolver, type LpSolver } from "./solver.ts";

/** Energy tolerance, Wh: HiGHS meets its rows to far better than this on programs of this size. */
const WH_TOLERANCE = 1e-6;

let solver: LpSolver;
before(async () => {
  solver = await highsSolver();
});
after(() => solver.close());

const sum = (values: ArrayLike<number>, from = 0, to = values.length): number => {
  let total = 0;
  for (let t = from; t < to; t++) total += values[t] as number;
  return total;
};

/** The battery's state of charge at the end of each slot, recomputed from the net schedule. */
function socPath(battery: BatteryState, batteryWh: ArrayLike<number>): number[] {
  const path: number[] = [];
  let soc = battery.socWh;
  for (let t = 0; t < batteryWh.length; t++) {
    const wh = batteryWh[t] as number;
    soc += wh > 0 ? wh * battery.efficiency : wh / battery.efficiency;
    path.push(soc);
  }
  return path;
}

/** What a schedule costs: imports at the import price minus exports at the export price, less the battery's end value. */
function scheduleCost(
  problem: PlanningProblem,
  importWh: ArrayLike<number>,
  exportWh: ArrayLike<number>,
  batteryWh: ArrayLike<number>,
): number {
  let cost = 0;
  problem.baseWh.forEach((_, t) => {
    cost += ((importWh[t] as number) * (problem.importPrice[t] as number)) / 1000;
    cost -= ((exportWh[t] as number) * (problem.exportPrice[t] as number)) / 1000;
  });
  const battery = problem.battery;
  if (battery !== undefined) {
    // A Wh stored at the end is worth the terminal price once discharged (η of it reaches the connection).
    const endSoc = socPath(battery, batteryWh).at(-1) ?? battery.socWh;
    cost -= (battery.terminalPrice * battery.efficiency * endSoc) / 1000;
  }
  return cost;
}

/** The cost of running the battery at `batteryWh` with the grid taking up the difference. */
function costOfBatterySchedule(problem: PlanningProblem, batteryWh: readonly number[]): number {
  const net = problem.baseWh.map((base, t) => base + (batteryWh[t] as number));
  return scheduleCost(
    problem,
    net.map((wh) => Math.max(0, wh)),
    net.map((wh) => Math.max(0, -wh)),
    batteryWh,
  );
}

const planCost = (problem: PlanningProblem, plan: Plan): number =>
  scheduleCost(problem, plan.importWh, plan.exportWh, plan.batteryWh);

/** Every slot balances: import − export − battery − EV − heat pump = base. */
function assertBalanced(problem: PlanningProblem, plan: Plan): void {
  problem.baseWh.forEach((base, t) => {
    const residual =
      (plan.importWh[t] as number) -
      (plan.exportWh[t] as number) -
      (plan.batteryWh[t] ?? 0) -
      (plan.evWh[t] ?? 0) -
      (plan.heatPumpWh[t] ?? 0) -
      base;
    assert.ok(Math.abs(residual) < WH_TOLERANCE, `slot ${t} is off balance by ${residual} Wh`);
    assert.ok((plan.importWh[t] as number) >= -WH_TOLERANCE && (plan.exportWh[t] as number) >= -WH_TOLERANCE);
  });
}

const prices = (slots: number) =>
  fc
    .array(
      fc.record({
        exportPrice: fc.integer({ min: 0, max: 2500 }),
        spread: fc.integer({ min: 0, max: 3000 }),
      }),
      { minLength: slots, maxLength: slots },
    )
    .map((pairs) => ({
      importPrice: pairs.map((pair) => pair.exportPrice + pair.spread),
      exportPrice: pairs.map((pair) => pair.exportPrice),
    }));

const batteryState = fc
  .record({
    capacityWh: fc.integer({ min: 1000, max: 20_000 }),
    minShare: fc.double({ min: 0, max: 0.5, noNaN: true }),
    socShare: fc.double({ min: 0, max: 1, noNaN: true }),
    maxWhPerSlot: fc.integer({ min: 100, max: 5000 }),
    efficiency: fc.double({ min: 0.7, max: 1, noNaN: true }),
    terminalPrice: fc.integer({ min: 0, max: 3000 }),
  })
  .map(({ capacityWh, minShare, socShare, ...rest }): BatteryState => {
    const minWh = capacityWh * minShare;
    return { ...rest, capacityWh, minWh, socWh: minWh + socShare * (capacityWh - minWh) };
  });

const batteryProblem = (slots: { min: number; max: number }) =>
  fc.integer(slots).chain((count) =>
    fc
      .record({
        baseWh: fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: count, maxLength: count }),
        prices: prices(count),
        battery: batteryState,
        connectionCapWh: fc.option(fc.integer({ min: 500, max: 6000 }), { nil: undefined }),
      })
      .map(
        ({ baseWh, prices, battery, connectionCapWh }): PlanningProblem => ({
          baseWh,
          ...prices,
          battery,
          ...(connectionCapWh === undefined ? {} : { connectionCapWh }),
        }),
      ),
  );

/** A 200 W/K house with 5 kWh/K of thermal mass, a 3 kW heat pump and a 20–22 °C band. */
const asset: HeatPumpAssets = {
  heatLossWPerK: 200,
  thermalCapacityKwhPerK: 5,
  ratedKw: 3,
  minTemperatureC: 20,
  maxTemperatureC: 22,
};

describe("planHousehold without devices", () => {
  it("imports the deficits and exports the surpluses exactly, each slot worth its price", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }).chain((count) =>
          fc.record({
            baseWh: fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: count, maxLength: count }),
            prices: prices(count).map(({ importPrice, exportPrice }) => ({
              importPrice: importPrice.map((price) => price + 1),
              exportPrice,
            })),
          }),
        ),
        async ({ baseWh, prices }) => {
          const problem = { baseWh, ...prices };
          const plan = await planHousehold(problem, solver);
          baseWh.forEach((base, t) => {
            assert.ok(
              Math.abs((plan.importWh[t] as number) - Math.max(0, base)) < WH_TOLERANCE,
              `import ${t}`,
            );
            assert.ok(
              Math.abs((plan.exportWh[t] as number) - Math.max(0, -base)) < WH_TOLERANCE,
              `export ${t}`,
            );
            const value = plan.values.balance[t] as number;
            const importPrice = prices.importPrice[t] as number;
            const exportPrice = prices.exportPrice[t] as number;
            if (base > 0)
              assert.ok(Math.abs(value - importPrice) < 1e-6, `slot ${t}: ${value} is the import price`);
            else if (base < 0)
              assert.ok(Math.abs(value - exportPrice) < 1e-6, `slot ${t}: ${value} is the export price`);
            else
              assert.ok(
                value >= exportPrice - 1e-6 && value <= importPrice + 1e-6,
                `slot ${t}: ${value} between`,
              );
          });
          for (const schedule of [plan.batteryWh, plan.evWh, plan.heatPumpWh])
            assert.ok(
              schedule.every((wh) => wh === 0),
              "no device moves energy",
            );
          assert.equal(plan.temperatureC.length, 0, "no room without a heat pump");
          for (const device of [plan.values.charge, plan.values.discharge, plan.values.ev, plan.values.heat])
            assert.deepEqual(device, plan.values.balance, "an absent device is worth the balance");
        },
      ),
      propertyOptions(0.25),
    );
  });
});

describe("planHousehold with a battery", () => {
  it("respects the state of charge, the power limit, the balance and the connection cap", async () => {
    await fc.assert(
      fc.asyncProperty(batteryProblem({ min: 4, max: 12 }), async (problem) => {
        const battery = problem.battery as BatteryState;
        const plan = await planHousehold(problem, solver);
        assertBalanced(problem, plan);
        plan.batteryWh.forEach((wh, t) => {
          assert.ok(
            Math.abs(wh) <= battery.maxWhPerSlot + WH_TOLERANCE,
            `slot ${t}: ${wh} Wh beyond the power`,
          );
        });
        socPath(battery, plan.batteryWh).forEach((soc, t) => {
          assert.ok(soc >= battery.minWh - 1e-5, `slot ${t}: ${soc} Wh below the minimum ${battery.minWh}`);
          assert.ok(soc <= battery.capacityWh + 1e-5, `slot ${t}: ${soc} Wh above the capacity`);
        });
        const cap = problem.connectionCapWh;
        if (cap !== undefined) {
          problem.baseWh.forEach((base, t) => {
            assert.ok(
              (plan.importWh[t] as number) <= Math.max(cap, base) + WH_TOLERANCE,
              `slot ${t}: import`,
            );
            assert.ok(
              (plan.exportWh[t] as number) <= Math.max(cap, -base) + WH_TOLERANCE,
              `slot ${t}: export`,
            );
          });
        }
        const idle = costOfBatterySchedule(problem, new Array(problem.baseWh.length).fill(0));
        assert.ok(
          planCost(problem, plan) <= idle + 1e-3,
          "the plan costs no more than leaving the battery idle",
        );
      }),
      propertyOptions(0.5),
    );
  });

  it("costs no more than the best of a grid of battery schedules (brute force over 3 slots)", async () => {
    const steps = [-4, -3, -2, -1, 0, 1, 2, 3, 4];
    await fc.assert(
      fc.asyncProperty(batteryProblem({ min: 3, max: 3 }), async (drawn) => {
        const { connectionCapWh: _, ...problem } = drawn;
        const battery = problem.battery as BatteryState;
        let best = Number.POSITIVE_INFINITY;
        for (const a of steps)
          for (const b of steps)
            for (const c of steps) {
              const schedule = [a, b, c].map((step) => (step / 4) * battery.maxWhPerSlot);
              const path = socPath(battery, schedule);
              if (path.some((soc) => soc < battery.minWh - 1e-9 || soc > battery.capacityWh + 1e-9)) continue;
              best = Math.min(best, costOfBatterySchedule(problem, schedule));
            }
        const plan = await planHousehold(problem, solver);
        const cost = planCost(problem, plan);
        assert.ok(cost <= best + 1e-3, `the plan costs ${cost}, a grid schedule ${best}`);
      }),
      propertyOptions(0.25),
    );
  });

  it("charges in a cheap slot at the power limit, and values that charge above the slot's balance", async () => {
    const battery: BatteryState = {
      capacityWh: 10_000,
      minWh: 0,
      maxWhPerSlot: 1000,
      efficiency: 0.95,
      socWh: 0,
      terminalPrice: 0,
    };
    const problem: PlanningProblem = {
      baseWh: [2000, 2000, 2000, 2000],
      importPrice: [500, 3000, 3000, 3000],
      exportPrice: [100, 100, 100, 100],
      battery,
    };
    const plan = await planHousehold(problem, solver);
    assert.ok(Math.abs((plan.batteryWh[0] as number) - 1000) < WH_TOLERANCE, `charges ${plan.batteryWh[0]}`);
    assert.ok(
      Math.abs(sum(plan.batteryWh, 1) + 1000 * 0.95 * 0.95) < WH_TOLERANCE,
      "discharges what it stored",
    );
    assert.ok(Math.abs((plan.values.balance[0] as number) - 500) < 1e-6);
    const chargeValue = plan.values.charge[0] as number;
    assert.ok(chargeValue > (plan.values.balance[0] as number), `${chargeValue} is above the balance`);
    // A Wh charged now displaces η² Wh of imports at 3000 later.
    assert.ok(Math.abs(chargeValue - 0.95 * 0.95 * 3000) < 0.01, `${chargeValue}`);
  });

  it("discharges in a dear slot at the power limit, and values that discharge below the slot's balance", async () => {
    const problem: PlanningProblem = {
      baseWh: [2000, 2000, 2000, 2000],
      // Later imports cost less than the battery's end value (800) but more than it after a round trip (722).
      importPrice: [3000, 750, 750, 750],
      exportPrice: [100, 100, 100, 100],
      battery: {
        capacityWh: 10_000,
        minWh: 0,
        maxWhPerSlot: 1000,
        efficiency: 0.95,
        socWh: 5000,
        terminalPrice: 800,
      },
    };
    const plan = await planHousehold(problem, solver);
    assert.deepEqual(
      [...plan.batteryWh].map((wh) => Math.round(wh)),
      [-1000, 0, 0, 0],
      "the rest is worth more kept",
    );
    const dischargeValue = plan.values.discharge[0] as number;
    assert.ok(dischargeValue < (plan.values.balance[0] as number), `${dischargeValue} is below the balance`);
    // A Wh discharged now is a Wh not discharged at the end, worth the terminal price.
    assert.ok(Math.abs(dischargeValue - 800) < 0.01, `${dischargeValue}`);
  });
});

describe("planHousehold with an EV", () => {
  it("charges the need within the stay, in its cheapest slots, never while the car is away", async () => {
    const problem: PlanningProblem = {
      baseWh: [300, 300, 300, 300, 300, 300, 300, 300],
      importPrice: [1000, 1000, 3000, 1500, 2500, 1200, 500, 500],
      exportPrice: [100, 100, 100, 100, 100, 100, 100, 100],
      ev: {
        maxWhPerSlot: [0, 0, 2000, 2000, 2000, 2000, 0, 0],
        needs: [{ fromSlot: 2, untilSlot: 6, needWh: 3000 }],
      },
    };
    const plan = await planHousehold(problem, solver);
    assert.deepEqual(
      [...plan.evWh].map((wh) => Math.round(wh * 1e6) / 1e6),
      [0, 0, 0, 1000, 0, 2000, 0, 0],
    );
    assertBalanced(problem, plan);
  });

  it("charges as early as it can when the stay's slots cost the same", async () => {
    const problem: PlanningProblem = {
      baseWh: [0, 0, 0, 0, 0, 0],
      importPrice: [2000, 2000, 2000, 2000, 2000, 2000],
      exportPrice: [0, 0, 0, 0, 0, 0],
      ev: {
        maxWhPerSlot: [0, 2000, 2000, 2000, 2000, 0],
        needs: [{ fromSlot: 1, untilSlot: 5, needWh: 3000 }],
      },
    };
    const plan = await planHousehold(problem, solver);
    assert.deepEqual(
      [...plan.evWh].map((wh) => Math.round(wh * 1e6) / 1e6),
      [0, 2000, 1000, 0, 0, 0],
    );
  });

  it("meets every stay's need at least cost on random stays and prices", async () => {
    const stays = fc.integer({ min: 6, max: 16 }).chain((count) =>
      fc.record({
        count: fc.constant(count),
        // Up to three stays; each split point is a slot boundary.
        cuts: fc.uniqueArray(fc.integer({ min: 0, max: count }), { minLength: 2, maxLength: 6 }),
        chargerWh: fc.array(fc.integer({ min: 200, max: 3000 }), { minLength: count, maxLength: count }),
        needShares: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
        baseWh: fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: count, maxLength: count }),
        importPrice: fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: count, maxLength: count }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(stays, async ({ count, cuts, chargerWh, needShares, baseWh, importPrice }) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const maxWhPerSlot = new Array<number>(count).fill(0);
        const needs: { fromSlot: number; untilSlot: number; needWh: number }[] = [];
        for (let k = 0; k + 1 < sorted.length && needs.length < 3; k += 2) {
          const fromSlot = sorted[k] as number;
          const untilSlot = sorted[k + 1] as number;
          for (let t = fromSlot; t < untilSlot; t++) maxWhPerSlot[t] = chargerWh[t] as number;
          const needWh = Math.floor(
            (needShares[needs.length] as number) * sum(maxWhPerSlot, fromSlot, untilSlot),
          );
          needs.push({ fromSlot, untilSlot, needWh });
        }
        const problem: PlanningProblem = {
          baseWh,
          importPrice,
          exportPrice: importPrice.map(() => 0),
          ev: { maxWhPerSlot, needs },
        };
        const plan = await planHousehold(problem, solver);
        assertBalanced(problem, plan);
        plan.evWh.forEach((wh, t) => {
          assert.ok(
            wh >= -WH_TOLERANCE && wh <= (maxWhPerSlot[t] as number) + WH_TOLERANCE,
            `slot ${t}: ${wh}`,
          );
        });
        for (const { fromSlot, untilSlot, needWh } of needs) {
          const charged = sum(plan.evWh, fromSlot, untilSlot);
          assert.ok(
            Math.abs(charged - needWh) < 1e-5,
            `stay ${fromSlot}–${untilSlot}: ${charged} for ${needWh}`,
          );
          for (let t = fromSlot; t < untilSlot; t++)
            for (let u = fromSlot; u < untilSlot; u++) {
              if ((importPrice[t] as number) >= (importPrice[u] as number)) continue;
              if ((plan.evWh[u] as number) <= 1e-5) continue;
              assert.ok(
                (plan.evWh[t] as number) >= (maxWhPerSlot[t] as number) - 1e-5,
                `slot ${u} charges while cheaper slot ${t} is not full`,
              );
            }
        }
      }),
      propertyOptions(0.5),
    );
  });
});

describe("planHousehold with a heat pump", () => {
  /** The room at the end of each slot, recomputed from the schedule with the 1R1C step. */
  function roomPath(startC: number, steps: readonly ThermalStep[], heatWh: ArrayLike<number>): number[] {
    let roomC = startC;
    return steps.map((step, t) => {
      roomC = step.decay * roomC + step.driftC + step.warmingCPerWh * (heatWh[t] as number);
      return roomC;
    });
  }

  const hourly = (outdoorC: readonly number[]): ThermalStep[] =>
    outdoorC.map((outdoor) => thermalStep(asset, outdoor, 3600));

  it("pre-heats to the top of the band in cheap slots and coasts through the dear ones", async () => {
    const steps = hourly(new Array(12).fill(0));
    const problemAt = (importPrice: number[]): PlanningProblem => ({
      baseWh: new Array(12).fill(300),
      importPrice,
      exportPrice: new Array(12).fill(100),
      heatPump: {
        temperatureC: 21,
        minTemperatureC: 20,
        maxTemperatureC: 22,
        maxWhPerSlot: new Array(12).fill(3000),
        steps,
      },
    });
    const cheapFirst = [1000, 1000, 1000, 1000, 4000, 4000, 4000, 4000, 4000, 4000, 4000, 4000];
    const shifted = await planHousehold(problemAt(cheapFirst), solver);
    const flat = await planHousehold(problemAt(new Array(12).fill(2000)), solver);
    assert.ok(Math.abs((shifted.temperatureC[3] as number) - 22) < 1e-6, `${shifted.temperatureC[3]} °C`);
    assert.ok(sum(shifted.heatPumpWh, 0, 4) > sum(flat.heatPumpWh, 0, 4) + 1000, "more heat while cheap");
    assert.ok(sum(shifted.heatPumpWh, 4) < sum(flat.heatPumpWh, 4) - 1000, "less heat while dear");
    for (const plan of [shifted, flat]) {
      const path = roomPath(21, steps, plan.heatPumpWh);
      path.forEach((roomC, t) => {
        assert.ok(Math.abs(roomC - (plan.temperatureC[t] as number)) < 1e-6, `slot ${t}: the plan's room`);
        assert.ok(roomC >= 20 - 1e-6 && roomC <= 22 + 1e-6, `slot ${t}: ${roomC} °C in the band`);
      });
    }
  });

  it("keeps the room in the comfort band whenever the heat pump can, on random weather and prices", async () => {
    const problems = fc.integer({ min: 4, max: 12 }).chain((count) =>
      fc.record({
        building: fc.record({
          heatLossWPerK: fc.integer({ min: 80, max: 250 }),
          thermalCapacityKwhPerK: fc.double({ min: 2, max: 20, noNaN: true }),
          ratedKw: fc.integer({ min: 6, max: 10 }),
          minTemperatureC: fc.integer({ min: 18, max: 21 }),
          widthC: fc.integer({ min: 1, max: 3 }),
        }),
        slotSeconds: fc.constantFrom(900, 3600),
        startShare: fc.double({ min: 0, max: 1, noNaN: true }),
        outdoorC: fc.array(fc.double({ min: -15, max: 10, noNaN: true }), {
          minLength: count,
          maxLength: count,
        }),
        baseWh: fc.array(fc.integer({ min: -2000, max: 2000 }), { minLength: count, maxLength: count }),
        prices: prices(count),
      }),
    );
    await fc.assert(
      fc.asyncProperty(problems, async ({ building, slotSeconds, startShare, outdoorC, baseWh, prices }) => {
        const { widthC, ...rest } = building;
        const spec: HeatPumpAssets = { ...rest, maxTemperatureC: rest.minTemperatureC + widthC };
        const steps = outdoorC.map((outdoor) => thermalStep(spec, outdoor, slotSeconds));
        const maxWh = (spec.ratedKw * 1000 * slotSeconds) / 3600;
        const startC = spec.minTemperatureC + startShare * widthC;
        const problem: PlanningProblem = {
          baseWh,
          ...prices,
          heatPump: {
            temperatureC: startC,
            minTemperatureC: spec.minTemperatureC,
            maxTemperatureC: spec.maxTemperatureC,
            maxWhPerSlot: outdoorC.map(() => maxWh),
            steps,
          },
        };
        const plan = await planHousehold(problem, solver);
        assertBalanced(problem, plan);
        plan.heatPumpWh.forEach((wh, t) => {
          assert.ok(wh >= -WH_TOLERANCE && wh <= maxWh + WH_TOLERANCE, `slot ${t}: ${wh} Wh`);
        });
        roomPath(startC, steps, plan.heatPumpWh).forEach((roomC, t) => {
          assert.ok(Math.abs(roomC - (plan.temperatureC[t] as number)) < 1e-6, `slot ${t}: the plan's room`);
          assert.ok(roomC >= spec.minTemperatureC - 1e-6, `slot ${t}: ${roomC} °C below the band`);
          assert.ok(roomC <= spec.maxTemperatureC + 1e-6, `slot ${t}: ${roomC} °C above the band`);
        });
      }),
      propertyOptions(0.5),
    );
  });

  it("lets the room cool below the band, without failing, when the heat pump may not run", async () => {
    const steps = hourly(new Array(8).fill(-5));
    const plan = await planHousehold(
      {
        baseWh: new Array(8).fill(300),
        importPrice: new Array(8).fill(3000),
        exportPrice: new Array(8).fill(800),
        heatPump: {
          temperatureC: 21,
          minTemperatureC: 20,
          maxTemperatureC: 22,
          maxWhPerSlot: new Array(8).fill(0),
          steps,
        },
      },
      solver,
    );
    const coasting = roomPath(21, steps, new Array(8).fill(0));
    assert.ok((coasting.at(-1) as number) < 19, "the room falls well below the band");
    coasting.forEach((roomC, t) => {
      assert.ok(Math.abs((plan.temperatureC[t] as number) - roomC) < 1e-6, `slot ${t}`);
    });
  });
});

describe("planHousehold rejects impossible settings", () => {
  const base = { baseWh: [100, 200, 300], importPrice: [3000, 3000, 3000], exportPrice: [800, 800, 800] };
  const battery: BatteryState = {
    capacityWh: 10_000,
    minWh: 1000,
    maxWhPerSlot: 2500,
    efficiency: 0.95,
    socWh: 5000,
    terminalPrice: 800,
  };
  const heatPump = {
    temperatureC: 21,
    minTemperatureC: 20,
    maxTemperatureC: 22,
    maxWhPerSlot: [3000, 3000, 3000],
    steps: [0, 0, 0].map((outdoor) => thermalStep(asset, outdoor, 3600)),
  };
  const ev = {
    maxWhPerSlot: [0, 1000, 1000],
    needs: [{ fromSlot: 1, untilSlot: 3, needWh: 2000 }],
  };
  const cases: { name: string; problem: PlanningProblem; path: string }[] = [
    {
      name: "a battery efficiency of 0",
      problem: { ...base, battery: { ...battery, efficiency: 0 } },
      path: "battery.efficiency",
    },
    {
      name: "a battery efficiency above 1",
      problem: { ...base, battery: { ...battery, efficiency: 1.05 } },
      path: "battery.efficiency",
    },
    {
      name: "a battery efficiency that is not a number",
      problem: { ...base, battery: { ...battery, efficiency: Number.NaN } },
      path: "battery.efficiency",
    },
    {
      name: "a minimum charge above the capacity",
      problem: { ...base, battery: { ...battery, minWh: 12_000 } },
      path: "battery.minSocFraction",
    },
    {
      name: "a negative minimum charge",
      problem: { ...base, battery: { ...battery, minWh: -1 } },
      path: "battery.minSocFraction",
    },
    {
      name: "an EV need above what the charger delivers while home",
      problem: { ...base, ev: { ...ev, needs: [{ fromSlot: 1, untilSlot: 3, needWh: 2001 }] } },
      path: "ev.chargerKw",
    },
    {
      name: "a comfort band with min equal to max",
      problem: { ...base, heatPump: { ...heatPump, minTemperatureC: 22 } },
      path: "heatPump.minTemperatureC",
    },
    {
      name: "a comfort band with min above max",
      problem: { ...base, heatPump: { ...heatPump, minTemperatureC: 23 } },
      path: "heatPump.minTemperatureC",
    },
    {
      name: "import prices short of the horizon",
      problem: { ...base, importPrice: [3000, 3000] },
      path: "prices",
    },
    {
      name: "export prices short of the horizon",
      problem: { ...base, exportPrice: [800, 800] },
      path: "prices",
    },
    {
      name: "an import price below the export price",
      problem: { ...base, importPrice: [3000, 700, 3000] },
      path: "prices[1]",
    },
    { name: "an empty horizon", problem: { baseWh: [], importPrice: [], exportPrice: [] }, path: "horizon" },
    {
      name: "a connection cap too small for the EV's need",
      problem: { ...base, ev, connectionCapWh: 500 },
      path: "connectionCapWh",
    },
  ];

  for (const { name, problem, path } of cases) {
    it(`names ${path} for ${name}`, async () => {
      await assert.rejects(planHousehold(problem, solver), (error: unknown) => {
        assert.ok(error instanceof ValidationError, `${String(error)} is a ValidationError`);
        assert.deepEqual(
          error.issues.map((issue) => issue.path),
          [path],
        );
        return true;
      });
    });
  }

  it("lists every problem at once", async () => {
    await assert.rejects(
      planHousehold(
        { ...base, importPrice: [700, 3000, 3000], battery: { ...battery, efficiency: 2, minWh: 20_000 } },
        solver,
      ),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.deepEqual(
          error.issues.map((issue) => issue.path),
          ["prices[0]", "battery.efficiency", "battery.minSocFraction"],
        );
        return true;
      },
    );
  });

  it("accepts an EV need exactly equal to what the charger delivers", async () => {
    const plan = await planHousehold({ ...base, ev }, solver);
    assert.deepEqual([...plan.evWh].map(Math.round), [0, 1000, 1000]);
  });
});
