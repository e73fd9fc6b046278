import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referenceRecords, STREET } from "../../../test/support/household-market.ts";
import { highsSolver } from "../../agents/solver.ts";
import { clearSlot } from "../../market/index.ts";
import type { AgentSetup } from "../../sim/community.ts";
import type { ScenarioHousehold } from "../../sim/scenario.ts";
import { HomeModel } from "./model.ts";

/**
 * Plays `slots` slots of the street through one model per household, each alone, fed what its
 * household learns in `snippet simulate`; checks that their intents clear to the simulation's
 * commitments and their meters read what the simulation's read.
 */
async function playAgainstSimulate(agents: AgentSetup, slots: number): Promise<void> {
  const seed = 11;
  const reference = await referenceRecords(STREET, seed, slots, { agents });
  const grid = { startMs: Date.parse(STREET.start), slotMinutes: STREET.slotMinutes, slotCount: slots };
  const households: readonly ScenarioHousehold[] = STREET.households;
  const models = households.map(
    (household) => new HomeModel({ scenario: STREET, household, seed, agents, grid }),
  );
  let traded = 0;
  for (const record of reference) {
    const startMs = Date.parse(record.slot);
    const planned = await Promise.all(
      models.map((model) => model.plan(record.index, startMs, record.prices)),
    );
    const outcome = clearSlot({
      slot: record.slot,
      prices: { feedIn: record.prices.feedIn, retail: record.prices.retail },
      households: planned.map((slot) => slot.intent),
      ...(STREET.zones === undefined ? {} : { zones: STREET.zones }),
    });
    assert.deepStrictEqual(
      outcome.commitments.map(({ committed }) => committed),
      record.households.map(({ committed }) => committed),
      `slot ${record.index}: the homes' intents clear as the simulation's`,
    );
    assert.deepStrictEqual(
      planned.map(({ reading }) => reading),
      record.households.map(({ metered }) => metered),
      `slot ${record.index}: the homes' meters read as the simulation's`,
    );
    if (record.communityVolumeWh > 0) traded++;
    const figures = { clearingPrice: record.clearingPrice, communityVolumeWh: record.communityVolumeWh };
    models.forEach((model, h) => {
      const { order, committed } = record.households[h] as (typeof record.households)[number];
      model.observe(startMs, planned[h] as (typeof planned)[number], { figures, order, committed });
    });
  }
  assert.ok(traded > 0, "the community traded");
}

describe("a home's model, alone, as the simulation's community runs it", () => {
  it("plans, reads and learns as simulate does over a day, with rule-based agents", async () => {
    await playAgainstSimulate({ kind: "rule-based" }, 96);
  });

  it("and with strategic agents, whose plans carry their batteries from slot to slot", async () => {
    const solver = await highsSolver();
    try {
      await playAgainstSimulate({ kind: "strategic", solver, replanHours: 1 }, 24);
    } finally {
      await solver.close();
    }
  });
});
