import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ValidationError } from "../../validation/index.ts";
import { loadMeterConfig } from "./config.ts";

const VALID = {
  nodes: "nodes/nodes.json",
  keys: "nodes/registry.keys.json",
  meters: "all",
  source: { kind: "mqtt", url: "mqtt://127.0.0.1:1883" },
  broker: "http://127.0.0.1:8080",
  buffer: "meter-buffer",
  health: { host: "127.0.0.1", port: 0 },
};

describe("a meter service's config", () => {
  let folder: string;
  const write = async (config: unknown) => {
    const path = join(folder, "meters.json");
    await writeFile(path, JSON.stringify(config));
    return path;
  };
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "snippet-meter-config-"));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  it("makes its paths relative to the config file absolute", async () => {
    const path = await write({ ...VALID, source: { kind: "csv", path: "in/readings.csv" } });
    const config = loadMeterConfig(path);
    assert.equal(config.nodes, join(folder, "nodes/nodes.json"));
    assert.equal(config.buffer, join(folder, "meter-buffer"));
    assert.deepEqual(config.source, { kind: "csv", path: join(folder, "in/readings.csv") });
    const synthetic = loadMeterConfig(
      await write({ ...VALID, source: { kind: "synthetic", scenario: "default", seed: 1 } }),
    );
    assert.deepEqual(
      synthetic.source,
      { kind: "synthetic", scenario: "default", seed: 1 },
      "a shipped scenario by name",
    );
  });

  const cases: [string, unknown, string[]][] = [
    ["an unknown field", { ...VALID, metres: "all" }, ['(input): unknown field "metres"']],
    [
      "meters neither all nor a list",
      { ...VALID, meters: "some" },
      ['meters: is neither "all" nor a list of meter ids'],
    ],
    ["an empty meter list", { ...VALID, meters: [] }, ["meters: lists no meter"]],
    [
      "an unknown source",
      { ...VALID, source: { kind: "modbus" } },
      ['source.kind: is not a kind of source: "mqtt", "csv" or "synthetic"'],
    ],
    [
      "a broker that is no http URL",
      { ...VALID, broker: "mqtt://x" },
      ['broker: "mqtt://x" is not a URL of http or https'],
    ],
    [
      "a health port out of range",
      { ...VALID, health: { host: "127.0.0.1", port: 70000 } },
      ["health.port: 70000 is not a port (0..65535)"],
    ],
    [
      "a seed that is no whole number",
      { ...VALID, source: { kind: "synthetic", scenario: "default", seed: 1.5 } },
      ["source.seed: is not a whole number"],
    ],
  ];
  for (const [what, config, messages] of cases)
    it(`refuses ${what}, naming the field`, async () => {
      const path = await write(config);
      assert.throws(
        () => loadMeterConfig(path),
        (error: unknown) =>
          error instanceof ValidationError &&
          assert.deepEqual(
            error.issues.map((issue) => `${issue.path}: ${issue.message}`),
            messages.map((message) => `${path}: ${message}`),
          ) === undefined,
      );
    });
});
