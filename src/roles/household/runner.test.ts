import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import pino from "pino";
import {
  pastCalendar,
  referenceRecords,
  STREET,
  TestBoard,
  TestMarket,
} from "../../../test/support/household-market.ts";
import { billSlot, estimatedReading } from "../../billing/index.ts";
import type { SlotRecord } from "../../billing/record.ts";
import { signerOf } from "../../private/registry.ts";
import { uncleared } from "../../sim/mpc-engines.ts";
import type { Scenario } from "../../sim/scenario.ts";
import { REFERENCE_ENGINES, type SlotEngines } from "../../sim/slot.ts";
import type { NodeConfig } from "../mpc-node/config.ts";
import { connectMeterBus } from "./bus.ts";
import type { HomeStep } from "./home.ts";
import { NodeLink } from "./nodes.ts";
import { type OwnSlotRecord, openHouseholdRecords, readOwnRecords } from "./records.ts";
import { HouseholdRunner } from "./runner.ts";

const SEED = 5;
const IDS = STREET.households.map((household) => household.id);
const METERS = IDS.map((id) => `meter-${id}`);

let market: TestMarket;
const work = mkdtempSync(join(tmpdir(), "snippet-household-runner-"));
before(async () => {
  market = await TestMarket.start(STREET);
});
after(async () => {
  await market?.close();
  rmSync(work, { recursive: true, force: true });
});

/** The steps the homes kept, to wait for. */
class Steps {
  readonly #seen = new Set<string>();
  #waiting: (() => void)[] = [];

  readonly told = (step: HomeStep): void => {
    this.#seen.add(`${step.household} ${step.index} ${step.step}`);
    for (const wake of this.#waiting.splice(0)) wake();
  };

  /** Resolves once every household kept `step` of slot `index`. */
  async all(index: number, step: HomeStep["step"]): Promise<void> {
    while (!IDS.every((id) => this.#seen.has(`${id} ${index} ${step}`)))
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
}

/** The scenario's five homes in one process, on `board`, keeping their records in `folder`. */
async function startHomes(
  scenario: Scenario,
  board: TestBoard,
  folder: string,
  steps: Steps,
  nodes: NodeConfig = market.cluster.config,
) {
  const log = pino({ level: "warn" }, pino.destination(2));
  const records = await openHouseholdRecords(folder);
  const link = new NodeLink(nodes, log);
  const bus = connectMeterBus(market.bus.url, log);
  const runner = await HouseholdRunner.start({
    scenario,
    households: scenario.households,
    seed: SEED,
    agents: { kind: "rule-based" },
    board,
    nodes: link,
    registry: market.cluster.config.registry as NonNullable<NodeConfig["registry"]>,
    signers: new Map(IDS.map((id) => [id, signerOf(market.keys, id)])),
    records,
    bus,
    log,
    onStep: steps.told,
  });
  const following = runner.run();
  return {
    runner,
    stop: async () => {
      await runner.stop();
      await following;
      link.close();
      await bus.close();
      await records.close();
    },
  };
}

/** Each household's own records of the reference's slots. */
function ownRecordsOf(reference: readonly SlotRecord[]): Map<string, OwnSlotRecord[]> {
  return new Map(
    IDS.map((id, h) => [
      id,
      reference.map(({ index, slot, prices, clearingPrice, communityVolumeWh, zones, households }) => ({
        index,
        slot,
        prices,
        clearingPrice,
        communityVolumeWh,
        ...(zones === undefined ? {} : { zones }),
        own: households[h] as SlotRecord["households"][number],
      })),
    ]),
  );
}

describe("household devices on a live market", { timeout: 120_000 }, () => {
  it("keep, slot after slot, exactly the records snippet simulate keeps of them", async () => {
    const slots = 5;
    const board = new TestBoard(pastCalendar(STREET, slots));
    const folder = join(work, "street");
    const steps = new Steps();
    const homes = await startHomes(STREET, board, folder, steps);
    try {
      // As the broker runs them: slot T+1 opens once T is cleared, T is billed after metering closes.
      for (let index = 0; index < slots; index++) {
        market.open(board, index);
        await steps.all(index, "sent");
        await market.clear(board, index);
        if (index > 0) await market.bill(board, index - 1, METERS);
      }
      await market.bill(board, slots - 1, METERS);
      await steps.all(slots - 1, "recorded");
      const status = homes.runner.status();
      assert.deepEqual(status.slots, {
        recorded: 5 * slots,
        sent: 5 * slots,
        refused: 0,
        supplierOnly: 0,
        published: 5 * slots,
      });
      assert.equal(status.status, "ok");
    } finally {
      await homes.stop();
    }
    const reference = await referenceRecords(STREET, SEED, slots);
    // The slots traded in the community and between partners, and the south feeder was split off.
    assert.ok(reference.every((record) => (record.clearingPrice ?? 0) > 0));
    assert.ok(reference.some((record) => record.bilateral.length > 0));
    assert.ok(
      reference.some((record) => record.zones?.some((zone) => zone.clearingPrice !== record.clearingPrice)),
    );
    assert.deepStrictEqual(await readOwnRecords(folder, IDS), ownRecordsOf(reference));
    for (const id of IDS)
      assert.equal(market.readings.get(`meter-${id}`)?.size, slots, `${id}'s meter read every slot once`);
  });

  it("resume after each stop where they stopped: nothing sent twice, lost or recorded twice", async () => {
    const scenario = { ...STREET, start: "2026-06-01T12:00:00Z" };
    const slots = 6;
    const board = new TestBoard(pastCalendar(scenario, slots));
    const folder = join(work, "resumed");
    const steps = new Steps();
    // Nodes no home can reach: dialled on a port nobody listens on.
    const config = market.cluster.config;
    const [n0, n1, n2] = config.nodes.map((node) => ({ ...node, clientPort: 1 }));
    const unreachable: NodeConfig = { ...config, nodes: [n0, n1, n2] as unknown as NodeConfig["nodes"] };

    let homes = await startHomes(scenario, board, folder, steps);
    let counts: ReturnType<HouseholdRunner["status"]>["slots"];
    try {
      market.open(board, 0);
      await steps.all(0, "sent");
      await market.clear(board, 0);
      market.open(board, 1);
      await steps.all(1, "sent");
      // Stopped with slot 0 learned but not billed, and slot 1's intent with the nodes.
      await homes.stop();
      homes = await startHomes(scenario, board, folder, steps);
      await market.clear(board, 1);
      await steps.all(1, "learned");
      await market.bill(board, 0, METERS);
      await steps.all(0, "recorded");
      // Stopped between slots; back without the nodes, they plan slot 2 and cannot send it.
      await homes.stop();
      homes = await startHomes(scenario, board, folder, steps, unreachable);
      market.open(board, 2);
      await steps.all(2, "planned");
      while (homes.runner.status().retrying < 5) await setTimeout(20);
      assert.equal(homes.runner.status().status, "degraded");
      await homes.stop();
      homes = await startHomes(scenario, board, folder, steps);
      await steps.all(2, "sent");
      await market.clear(board, 2);
      await market.bill(board, 1, METERS);
      // Slot 3 is left to the suppliers; in slot 4 Dan's meter does not report.
      market.open(board, 3);
      await steps.all(3, "sent");
      market.uncleared(board, 3);
      await market.bill(board, 2, METERS);
      market.open(board, 4);
      await steps.all(4, "sent");
      await market.clear(board, 4);
      await market.bill(board, 3, METERS);
      market.open(board, 5);
      await steps.all(5, "sent");
      await market.clear(board, 5);
      await market.bill(board, 4, METERS, ["meter-dan"]);
      await market.bill(board, 5, METERS);
      await steps.all(5, "recorded");
      counts = homes.runner.status().slots;
    } finally {
      await homes.stop();
    }

    assert.equal(counts.refused, 0, "no intent was refused: none was sent twice");
    for (let index = 0; index < slots; index++) {
      const clearing = board.slot(index)?.clearing;
      if (index !== 3) assert.equal(clearing?.intents, 5, `slot ${index}: every household's intent counted`);
    }
    const reference = await referenceRecords(scenario, SEED, slots, {
      enginesOf: (index): SlotEngines => {
        if (index === 3) return { ...REFERENCE_ENGINES, slot: async (request) => uncleared(request) };
        if (index !== 4) return REFERENCE_ENGINES;
        // Dan's meter did not report: billed at his commitment, which his record says he used.
        return {
          ...REFERENCE_ENGINES,
          bill: async (slot, model) => {
            const estimated = slot.households.map((household) =>
              household.id === "dan"
                ? { ...household, metered: estimatedReading(household.committed) }
                : household,
            );
            const billing = billSlot({ ...slot, households: estimated }, model);
            return { ...billing, implausible: [{ id: "dan", reason: "no reading" }] };
          },
        };
      },
    });
    assert.equal(reference[3]?.clearingPrice, null);
    const kept = await readOwnRecords(folder, IDS);
    const expected = ownRecordsOf(reference);
    // How the nodes bill a slot left to the suppliers is theirs to say (a household keeps the bill
    // they give it); its commitments are the supplier's, as the simulation's.
    for (const [id, records] of expected) {
      const billed = kept.get(id)?.[3]?.own.bill;
      const own = records[3]?.own;
      if (billed !== undefined && own !== undefined)
        records[3] = { ...(records[3] as OwnSlotRecord), own: { ...own, bill: billed } };
    }
    assert.deepStrictEqual(kept, expected);
  });
});
