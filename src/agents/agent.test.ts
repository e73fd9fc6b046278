import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { MemoryRunStore } from "../../test/support/memory-store.ts";
import { seededRandom, syntheticProfiles } from "../profiles/index.ts";
import { timeGridOf } from "../sim/community.ts";
import { runSimulation } from "../sim/run.ts";
import { parseScenario } from "../sim/scenario.ts";
import { type AgentContext, DonationBudget, intentOf } from "./agent.ts";
import { Outlook } from "./forecast.ts";
import { ruleBasedAgent } from "./rule-based.ts";

const tariff = { feedIn: 500, retail: 2800, networkFee: 350 };
const JUNE_NOON = Date.parse("2026-06-01T12:00:00Z");

describe("the donation budget", () => {
  it("is unlimited without a budget", () => {
    assert.equal(new DonationBudget(undefined).leftWh(JUNE_NOON), Number.POSITIVE_INFINITY);
  });

  it("counts donations within a calendar month and starts again the next", () => {
    const budget = new DonationBudget(1);
    budget.record(JUNE_NOON, 600);
    assert.equal(budget.leftWh(JUNE_NOON + 3_600_000), 400);
    budget.record(JUNE_NOON, 500);
    assert.equal(budget.leftWh(JUNE_NOON), 0, "never below zero");
    assert.equal(budget.leftWh(Date.parse("2026-07-01T00:00:00Z")), 1000, "a new month");
  });
});

describe("a household's intent", () => {
  const household = {
    id: "alice",
    zone: "north",
    connectionCapWh: 2500,
    preferences: {
      offers: [
        { partner: "bob", price: 1500, capWh: 400 },
        { partner: "hospital", price: 0, capWh: 300 },
      ],
      accepts: [{ partner: "carol", capWh: 200 }],
      tradingWindows: [{ fromHour: 8, toHour: 18 }],
    },
  };

  it("sells a surplus with its partner offers, donations capped by what the budget has left", () => {
    const intent = intentOf(household, -812.4, 900, JUNE_NOON, 120);
    assert.deepEqual(intent, {
      id: "alice",
      side: "sell",
      volumeWh: 812,
      limitPrice: 900,
      zone: "north",
      connectionCapWh: 2500,
      offers: [
        { partner: "bob", price: 1500, capWh: 400 },
        { partner: "hospital", price: 0, capWh: 120 },
      ],
      community: true,
    });
    const spent = intentOf(household, -812, 900, JUNE_NOON, 0);
    assert.deepEqual(
      spent.offers,
      [{ partner: "bob", price: 1500, capWh: 400 }],
      "an exhausted budget gives nothing",
    );
  });

  it("buys a deficit with its accepted sellers, and stays out of the community outside its windows", () => {
    const intent = intentOf(household, 300, 2000, Date.parse("2026-06-01T20:00:00Z"), 0);
    assert.equal(intent.side, "buy");
    assert.deepEqual(intent.accepts, [{ partner: "carol", capWh: 200 }]);
    assert.equal(intent.offers, undefined);
    assert.equal(intent.community, false);
  });
});

describe("the rule-based agent", () => {
  const context = (loadWh: number, pvWh: number): AgentContext => ({
    slotStartMs: JUNE_NOON,
    prices: tariff,
    forecast: { loadWh, pvWh, evWh: 0, heatPumpWh: 0 },
    outlook: new Outlook(JUNE_NOON, 900_000, () => tariff),
  });

  it("stores a surplus in its battery up to the power limit and covers a deficit from it", async () => {
    const agent = ruleBasedAgent(
      { id: "home", assets: { annualKwh: 3000, battery: { capacityKwh: 10, powerKw: 2, efficiency: 1 } } },
      15,
    );
    const sunny = await agent.plan(context(200, 1200));
    assert.equal(sunny.energy.batteryWh, 500, "2 kW for a quarter-hour");
    assert.deepEqual([sunny.intent.side, sunny.intent.volumeWh], ["sell", 500]);
    const evening = await agent.plan(context(300, 0));
    assert.equal(evening.energy.batteryWh, -300);
    assert.equal(evening.intent.volumeWh, 0, "the battery covers the whole deficit");
  });

  it("prices by its eagerness: buyers at three quarters of the band below retail minus the fee", async () => {
    const agent = ruleBasedAgent({ id: "plain", assets: { annualKwh: 3000 } }, 15);
    const decision = await agent.plan(context(400, 0));
    assert.equal(decision.intent.limitPrice, Math.round(500 + (2450 - 500) * 0.75));
    const seller = await agent.plan(context(0, 400));
    assert.equal(seller.intent.limitPrice, Math.round(500 + (2800 - 500) * 0.25));
  });
});

describe("donations over a run", () => {
  it("stop for the month once the budget is given away", async () => {
    const scenario = parseScenario(
      JSON.parse(readFileSync(new URL("../../scenarios/default.json", import.meta.url), "utf8")),
    );
    const budgetKwh = 1.5;
    const withBudget = parseScenario({
      ...scenario,
      households: scenario.households.map((household) =>
        household.id === "alice"
          ? { ...household, preferences: { ...household.preferences, donationBudgetKwhPerMonth: budgetKwh } }
          : household,
      ),
    });
    const donated = async (subject: typeof scenario): Promise<number> => {
      const store = new MemoryRunStore();
      await runSimulation({
        scenario: subject,
        days: 2,
        seed: 1,
        store,
        resume: false,
        profiles: syntheticProfiles(
          subject.households,
          subject.site,
          timeGridOf(subject, 2),
          seededRandom(1).fork("profiles"),
        ),
      });
      let totalWh = 0;
      for (const record of [...store.runs.values()][0]?.slots ?? []) {
        for (const trade of record.bilateral)
          if (trade.seller === "alice" && trade.price === 0) totalWh += trade.volumeWh;
      }
      return totalWh;
    };
    assert.ok((await donated(scenario)) > budgetKwh * 1000, "without a budget alice gives more");
    const limited = await donated(withBudget);
    assert.ok(limited > 0 && limited <= budgetKwh * 1000, `gave ${limited} Wh`);
  });
});
