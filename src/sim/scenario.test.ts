import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ValidationError } from "../validation/index.ts";
import { communityRegistry } from "./mpc-engines.ts";
import { DEFAULT_PHYSICAL_CAPACITY_W, parseScenario, physicalCapacityWhOf } from "./scenario.ts";

/** The fields of a scenario file these tests edit. */
interface ScenarioDocument {
  physicalCapacityW?: number;
  households: { physicalCapacityW?: number }[];
}

/** The congested-feeder scenario file's content, edited by `edit`. */
function congestedFeeder(edit: (document: ScenarioDocument) => void = () => {}): unknown {
  const document: ScenarioDocument = JSON.parse(
    readFileSync(new URL("../../scenarios/congested-feeder.json", import.meta.url), "utf8"),
  );
  edit(document);
  return document;
}

describe("a connection's physical capacity in a scenario", () => {
  it("is the household's fuse rating, else the scenario's, else 3-phase 25 A, over the slot and floored", () => {
    assert.equal(DEFAULT_PHYSICAL_CAPACITY_W, 3 * 25 * 230);
    assert.equal(physicalCapacityWhOf({ slotMinutes: 15 }, {}), 4312);
    assert.equal(physicalCapacityWhOf({ slotMinutes: 30 }, {}), 8625);
    assert.equal(physicalCapacityWhOf({ slotMinutes: 15, physicalCapacityW: 10_000 }, {}), 2500);
    assert.equal(
      physicalCapacityWhOf({ slotMinutes: 15, physicalCapacityW: 10_000 }, { physicalCapacityW: 43_470 }),
      10_867,
    );
  });

  it("bounds every meter of the community's registry, beside its trading cap", () => {
    const scenario = parseScenario(
      congestedFeeder((d) => {
        d.households[1] = { ...d.households[1], physicalCapacityW: 24_150 };
      }),
    );
    const meters = communityRegistry(scenario).file.meters;
    assert.deepEqual(
      meters
        .slice(0, 3)
        .map(({ connectionCapWh, physicalCapacityWh }) => ({ connectionCapWh, physicalCapacityWh })),
      [
        { connectionCapWh: 2500, physicalCapacityWh: 4312 },
        { connectionCapWh: 2500, physicalCapacityWh: 6037 },
        { connectionCapWh: 2500, physicalCapacityWh: 4312 },
      ],
    );
  });

  it("refuses a fuse rating that is not a positive whole number of watts, and a trading cap above what the connection carries", () => {
    const cases: [string, unknown, string][] = [
      [
        "no power",
        congestedFeeder((d) => {
          d.physicalCapacityW = 0;
        }),
        "physicalCapacityW: 0 is not a positive power",
      ],
      [
        "a fraction of a watt",
        congestedFeeder((d) => {
          d.households[2] = { ...d.households[2], physicalCapacityW: 17_250.5 };
        }),
        "households[2].physicalCapacityW: 17250.5 is not an integer",
      ],
      [
        "a trading cap above the fuse",
        congestedFeeder((d) => {
          d.households[3] = { ...d.households[3], physicalCapacityW: 9_000 };
        }),
        "households[3].connectionCapWh: 2500 Wh is above what the connection can physically carry, 2250 Wh per slot (physicalCapacityW)",
      ],
    ];
    for (const [what, document, message] of cases)
      assert.throws(
        () => parseScenario(document),
        (error: unknown) => error instanceof ValidationError && error.message.includes(message),
        what,
      );
  });
});
