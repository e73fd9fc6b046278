import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ValidationError } from "../../validation/index.ts";
import { loadSupplierConfig } from "../supplier/service.ts";
import { loadDsoConfig } from "./service.ts";

const BASE = {
  broker: "http://127.0.0.1:8080",
  keys: "nodes/registry.keys.json",
  aheadSlots: 96,
  nodes: "nodes/nodes.json",
  health: { host: "127.0.0.1", port: 0 },
};
const at = (hour: number) => Date.parse(`2026-06-01T${String(hour).padStart(2, "0")}:15:00Z`);

describe("the supplier's tariff and the DSO's network, from a file", () => {
  let folder: string;
  const write = async (name: string, content: unknown) => {
    const path = join(folder, name);
    await writeFile(path, JSON.stringify(content));
    return path;
  };
  const issuesOf = (load: () => unknown): string[] => {
    try {
      load();
    } catch (error) {
      if (error instanceof ValidationError)
        return error.issues.map((issue) => `${issue.path.replace(`${folder}/`, "")}: ${issue.message}`);
      throw error;
    }
    assert.fail("no error");
  };
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "snippet-party-config-"));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  it("prices each slot by its UTC hour's band, and keeps the results beside the config by default", async () => {
    await write("tariff.json", {
      timeOfUse: [
        { fromHour: 0, toHour: 6, feedIn: 400, retail: 2200 },
        { fromHour: 6, toHour: 24, feedIn: 500, retail: 3100 },
      ],
    });
    const supplier = loadSupplierConfig(
      await write("supplier.json", { ...BASE, party: "s1", tariff: { file: "tariff.json" } }),
    );
    assert.deepEqual(
      [supplier.tariffAt(at(5)), supplier.tariffAt(at(6))],
      [
        { feedIn: 400, retail: 2200 },
        { feedIn: 500, retail: 3100 },
      ],
    );
    assert.equal(supplier.results, join(folder, "s1-results"));
    await write("network.json", {
      networkFee: 350,
      zones: [{ id: "z1", exportLimitWh: 10, importLimitWh: 20 }],
    });
    const dso = loadDsoConfig(
      await write("dso.json", { ...BASE, party: "dso", network: { file: "network.json" } }),
    );
    assert.deepEqual(
      [dso.networkFeeAt(at(3)), dso.zones],
      [350, [{ id: "z1", exportLimitWh: 10, importLimitWh: 20 }]],
    );
  });

  it("refuses bands that leave an hour uncovered, a feed-in above retail and a zone listed twice", async () => {
    await write("gap.json", {
      timeOfUse: [
        { fromHour: 0, toHour: 6, feedIn: 400, retail: 2200 },
        { fromHour: 7, toHour: 24, feedIn: 3200, retail: 3100 },
      ],
    });
    const supplier = await write("supplier-gap.json", { ...BASE, party: "s1", tariff: { file: "gap.json" } });
    assert.deepEqual(
      issuesOf(() => loadSupplierConfig(supplier)),
      ["gap.json: timeOfUse: hour 6 is covered by 0 bands, not exactly one"],
    );
    await write("above.json", { feedIn: 3200, retail: 3100 });
    const above = await write("supplier-above.json", {
      ...BASE,
      party: "s1",
      tariff: { file: "above.json" },
    });
    assert.deepEqual(
      issuesOf(() => loadSupplierConfig(above)),
      ["above.json: feedIn: 3200 is above the retail price 3100"],
    );
    await write("twice.json", {
      networkFee: 1,
      zones: [
        { id: "z1", exportLimitWh: 1, importLimitWh: 1 },
        { id: "z1", exportLimitWh: 2, importLimitWh: 2 },
      ],
    });
    const twice = await write("dso-twice.json", { ...BASE, party: "dso", network: { file: "twice.json" } });
    assert.deepEqual(
      issuesOf(() => loadDsoConfig(twice)),
      ['twice.json: zones[1].id: "z1" is listed twice'],
    );
    const neither = await write("dso-neither.json", {
      ...BASE,
      party: "dso",
      network: { url: "x" },
      aheadSlots: 0,
    });
    assert.deepEqual(
      issuesOf(() => loadDsoConfig(neither)),
      [
        "dso-neither.json: aheadSlots: 0 is not a positive slot count",
        'dso-neither.json: network: is neither {"scenario": name or file} nor {"file": "network.json"}',
      ],
    );
  });
});
