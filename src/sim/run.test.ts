import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { MemoryRunStore } from "../../test/support/memory-store.ts";
import { committedTotals, estimatedReading } from "../billing/index.ts";
import type { HouseholdSlotRecord } from "../billing/record.ts";
import { seededRandom, syntheticProfiles } from "../profiles/index.ts";
import type { ProfileSource, SlotEnergy } from "../profiles/types.ts";
import { timeGridOf } from "./community.ts";
import { runSimulation } from "./run.ts";
import { parseScenario, type Scenario } from "./scenario.ts";
import { referenceSlotEngine, reportingReferenceBilling } from "./slot.ts";

const scenarioFile = (name: string): Scenario =>
  parseScenario(JSON.parse(readFileSync(new URL(`../../scenarios/${name}.json`, import.meta.url), "utf8")));

/**
 * Plain made-up profiles: every household a steady load, PV roofs a midday bell, so that every stage
 * of the market has work. The loop does not care where energy comes from.
 */
function bellProfiles(scenario: Scenario): ProfileSource {
  const slotsPerDay = (24 * 60) / scenario.slotMinutes;
  return {
    householdIds: scenario.households.map((household) => household.id),
    slot(index: number): SlotEnergy[] {
      const hour = ((index % slotsPerDay) * 24) / slotsPerDay;
      const sun = Math.max(0, Math.sin(((hour - 6) / 12) * Math.PI));
      return scenario.households.map((household, h) => ({
        loadWh:
          Math.round((household.assets.annualKwh * 1000 * scenario.slotMinutes) / (365 * 24 * 60)) +
          (h % 3) * 20,
        pvWh: Math.round((household.assets.pv?.kWp ?? 0) * 1000 * sun * (scenario.slotMinutes / 60) * 0.7),
        evWh: household.assets.ev !== undefined && hour >= 19 ? 900 : 0,
        heatPumpWh: household.assets.heatPump !== undefined ? 150 : 0,
      }));
    },
  };
}

async function run(scenario: Scenario, store = new MemoryRunStore(), resume = false) {
  return runSimulation({ scenario, days: 2, seed: 7, store, resume, profiles: bellProfiles(scenario) });
}

describe("the slot loop", () => {
  it("is deterministic: the same seed gives the same slots and summary", async () => {
    const scenario = scenarioFile("default");
    const a = new MemoryRunStore();
    const b = new MemoryRunStore();
    const first = await run(scenario, a);
    const second = await run(scenario, b);
    assert.deepEqual(first.accumulator.summary(), second.accumulator.summary());
    assert.deepEqual([...b.runs.values()][0]?.slots, [...a.runs.values()][0]?.slots);
  });

  it("commits every household to exactly its capped position, and balances the community", async () => {
    for (const name of ["default", "winter-cooperative", "congested-feeder", "half-hourly-brokers"]) {
      const scenario = scenarioFile(name);
      const store = new MemoryRunStore();
      const result = await run(scenario, store);
      const slots = [...store.runs.values()][0]?.slots ?? [];
      assert.equal(slots.length, result.accumulator.summary().slots);
      for (const record of slots) {
        let bought = 0;
        let sold = 0;
        for (const household of record.households) {
          const c = household.committed;
          const totals = committedTotals({ id: household.id, committed: c, metered: household.metered });
          assert.ok(
            totals.importWh === 0 || totals.exportWh === 0,
            `${name} ${record.slot} ${household.id} one side only`,
          );
          bought += c.communityBuyWh;
          sold += c.communitySellWh;
        }
        assert.equal(bought, record.communityVolumeWh, `${name} ${record.slot} community buys`);
        assert.equal(sold, record.communityVolumeWh, `${name} ${record.slot} community sells`);
      }
    }
  });

  it("keeps represented households out of the order book: their representative trades for them", async () => {
    const scenario = scenarioFile("winter-cooperative");
    const store = new MemoryRunStore();
    await run(scenario, store);
    const slots = [...store.runs.values()][0]?.slots ?? [];
    const represented = new Set(
      scenario.households.filter((h) => h.representative !== undefined).map((h) => h.id),
    );
    let representedCommunityWh = 0;
    for (const record of slots) {
      for (const household of record.households) {
        if (!represented.has(household.id)) continue;
        assert.equal(household.order, null);
        representedCommunityWh += household.committed.communityBuyWh + household.committed.communitySellWh;
      }
    }
    assert.ok(representedCommunityWh > 0, "the cooperative traded for its clients");
  });

  it("resumes a killed run from its last stored day with no slot lost or doubled", async () => {
    const scenario = scenarioFile("default");
    const whole = new MemoryRunStore();
    const uninterrupted = await run(scenario, whole);

    const store = new MemoryRunStore();
    store.failAtSlot = 96 + 40; // dies while storing the second day
    await assert.rejects(run(scenario, store), /killed/);
    assert.equal([...store.runs.values()][0]?.slots.length, 96);
    await assert.rejects(
      run(scenario, store),
      /default-seed7-days2 already has 96 of 192 slots stored: resume it with --resume/,
    );
    store.failAtSlot = null;
    const resumed = await run(scenario, store, true);
    assert.equal(resumed.resumedFrom, 96);
    assert.deepEqual([...store.runs.values()][0]?.slots, [...whole.runs.values()][0]?.slots);
    assert.deepEqual(resumed.accumulator.summary(), uninterrupted.accumulator.summary());
    assert.deepEqual(resumed.accumulator.householdOutcomes(), uninterrupted.accumulator.householdOutcomes());
  });
});

describe("readings and what a connection can carry", () => {
  /** A day of the scenario on its synthetic profiles (seed 1), with the refusals the billing reports. */
  async function day(scenario: Scenario) {
    const faults: string[] = [];
    const store = new MemoryRunStore();
    await runSimulation({
      scenario,
      days: 1,
      seed: 1,
      store,
      resume: false,
      profiles: syntheticProfiles(
        scenario.households,
        scenario.site,
        timeGridOf(scenario, 1),
        seededRandom(1).fork("profiles"),
      ),
      engine: {
        name: "reference",
        slot: referenceSlotEngine,
        bill: reportingReferenceBilling((message) => faults.push(message)),
      },
    });
    return { slots: [...store.runs.values()][0]?.slots ?? [], faults };
  }
  const readWh = (household: HouseholdSlotRecord): number =>
    Math.max(household.metered.importWh, household.metered.exportWh);

  it("bills as read a reading above what its household may trade, within its connection's fuse", async () => {
    const scenario = scenarioFile("congested-feeder");
    const { slots, faults } = await day(scenario);
    assert.deepEqual(faults, [], "no reading refused");
    const above = slots.flatMap((record) =>
      record.households.filter((household) => readWh(household) > 2500),
    );
    assert.ok(above.length > 0, "some household read more than its trading cap of 2500 Wh");
    for (const household of above) {
      const committed = committedTotals(household);
      const { importWh, exportWh } = household.metered;
      assert.equal(
        household.bill.deviationWh,
        exportWh - committed.exportWh - (importWh - committed.importWh),
        `${household.id}'s reading is billed as read`,
      );
    }
  });

  it("refuses and reports a reading above the connection's fuse, and records the estimate it was billed at", async () => {
    // The same day on 10 kW fuses, 2500 Wh a quarter-hour: exactly the readings above that are refused.
    const scenario = scenarioFile("congested-feeder");
    const read = await day(scenario);
    const refused = await day({ ...scenario, physicalCapacityW: 10_000 });
    const expected: string[] = [];
    read.slots.forEach((record, t) => {
      record.households.forEach((household, h) => {
        const billed = refused.slots[t]?.households[h] as HouseholdSlotRecord;
        // The same commitments; the neighbours' bills move with TD, which the refused readings leave.
        assert.deepEqual(billed.committed, household.committed);
        if (readWh(household) <= 2500) {
          assert.deepEqual(billed.metered, household.metered);
          return;
        }
        expected.push(
          `slot ${record.slot}: ${household.id}'s reading refused: the reading is above the connection's physical capacity of 2500 Wh for the slot; billed at the estimate`,
        );
        assert.deepEqual(billed.metered, estimatedReading(household.committed));
        assert.equal(billed.bill.deviationWh, 0);
      });
    });
    assert.ok(expected.length > 0);
    assert.deepEqual(refused.faults, expected);
  });
});
