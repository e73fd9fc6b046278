/**
 * The `snippet` CLI at its boundary: every bad input exits 2 with an error naming the JSON path and
 * writes nothing to stdout; help and usage work on every command.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadNodeConfig } from "../src/roles/mpc-node/config.ts";
import { runCli, runSnippetProcess } from "./support/cli.ts";

const vector = (path: string): string =>
  readFileSync(fileURLToPath(new URL(`./vectors/${path}`, import.meta.url)), "utf8");
const twoOrders = JSON.parse(vector("spec/clear/two-orders.input.json"));
const shortage = JSON.parse(vector("spec/bill/ucs-a-shortage.input.json"));

/** A copy of `base` changed by `edit`. */
function edited<T>(base: T, edit: (copy: T) => void): string {
  const copy = structuredClone(base);
  edit(copy);
  return JSON.stringify(copy);
}

const badClearInputs: [string, string, string][] = [
  [
    "a negative volume",
    edited(twoOrders, (d) => (d.orders[0].volumeWh = -5)),
    "orders[0].volumeWh: -5 is not a positive volume",
  ],
  [
    "a zero volume",
    edited(twoOrders, (d) => (d.orders[1].volumeWh = 0)),
    "orders[1].volumeWh: 0 is not a positive volume",
  ],
  [
    "a fractional volume",
    edited(twoOrders, (d) => (d.orders[0].volumeWh = 12.5)),
    "orders[0].volumeWh: 12.5 is not an integer",
  ],
  [
    "a string number",
    edited(twoOrders, (d) => (d.orders[1].limitPrice = "900")),
    'orders[1].limitPrice: "900" is not a number',
  ],
  [
    "an unknown side",
    edited(twoOrders, (d) => (d.orders[0].side = "bid")),
    'orders[0].side: "bid" is not one of buy, sell',
  ],
  [
    "duplicate ids",
    edited(twoOrders, (d) => (d.orders[1].id = "b1")),
    'orders[1].id: "b1" is a duplicate order id',
  ],
  [
    "a limit above retail",
    edited(twoOrders, (d) => (d.orders[0].limitPrice = 2001)),
    "orders[0].limitPrice: 2001 is above the retail price 2000",
  ],
  [
    "a limit below feed-in",
    edited(twoOrders, (d) => (d.orders[1].limitPrice = 499)),
    "orders[1].limitPrice: 499 is below the feed-in tariff 500",
  ],
  [
    "a price off the grid",
    edited(twoOrders, (d) => (d.orders[0].limitPrice = 70000)),
    "orders[0].limitPrice: 70000 is above the 16-bit price grid",
  ],
  [
    "a negative price",
    edited(twoOrders, (d) => (d.prices.feedIn = -1)),
    "prices.feedIn: -1 is below the price grid",
  ],
  [
    "feed-in above retail",
    edited(twoOrders, (d) => (d.prices.feedIn = 2500)),
    "prices.feedIn: 2500 is above the retail price 2000",
  ],
  ["an unknown version", edited(twoOrders, (d) => (d.version = 2)), "version: 2 is not a supported version"],
  ["truncated JSON", JSON.stringify(twoOrders).slice(0, 60), "(input): is not valid JSON"],
  ["an empty input", "", "(input): is not valid JSON"],
  [
    "a missing field",
    edited(twoOrders, (d) => delete d.orders[1].limitPrice),
    "orders[1].limitPrice: missing is not a number",
  ],
  ["an unknown field", edited(twoOrders, (d) => (d.orders[0].price = 5)), 'orders[0]: unknown field "price"'],
  ["an empty id", edited(twoOrders, (d) => (d.orders[0].id = "")), "orders[0].id: is an empty id"],
  ["a bad slot time", edited(twoOrders, (d) => (d.slot = "noon")), 'slot: "noon" is not an ISO 8601 time'],
  [
    "orders that are not a list",
    edited(twoOrders, (d) => (d.orders = {})),
    "orders: is not a list of orders",
  ],
  ["a document that is not an object", "[1, 2]", "(input): is not an object"],
  [
    "a zone nobody declared",
    edited(twoOrders, (d) => {
      d.zones = [{ id: "z1", exportLimitWh: 10, importLimitWh: 10 }];
      d.orders[0].zone = "z1";
      d.orders[1].zone = "z9";
    }),
    'orders[1].zone: "z9" is not one of the input\'s zones',
  ],
  [
    "an order without a zone in a zoned book",
    edited(twoOrders, (d) => {
      d.zones = [{ id: "z1", exportLimitWh: 10, importLimitWh: 10 }];
      d.orders[0].zone = "z1";
    }),
    "orders[1].zone: is missing",
  ],
  [
    "a negative zone limit",
    edited(twoOrders, (d) => (d.zones = [{ id: "z", exportLimitWh: -1, importLimitWh: 0 }])),
    "zones[0].exportLimitWh: -1 is negative",
  ],
  [
    "a volume above the maximum",
    edited(twoOrders, (d) => (d.orders[0].volumeWh = 2 ** 40)),
    "orders[0].volumeWh: 1099511627776 is above the per-slot maximum",
  ],
];

const badBillInputs: [string, string, string][] = [
  [
    "community volume without a clearing price",
    edited(shortage, (d) => (d.slots[0].clearingPrice = null)),
    "slots[0].households[0].committed.communityBuyWh: 6 but the slot has no clearing price",
  ],
  [
    "a clearing price outside the tariffs",
    edited(shortage, (d) => (d.slots[0].clearingPrice = 350)),
    "slots[0].clearingPrice: 350 is outside the slot's tariffs [200, 300]",
  ],
  [
    "a zone price outside the tariffs",
    edited(shortage, (d) => (d.slots[0].households[0].committed.communityPrice = 100)),
    "slots[0].households[0].committed.communityPrice: 100 is outside the slot's tariffs [200, 300]",
  ],
  [
    "more energy in a slot than a household can move",
    edited(shortage, (d) => (d.slots[0].households[0].metered.importWh = 2 ** 32 - 1)),
    "slots[0].households[0]: commits and meters 4294967301 Wh in one slot, above the maximum",
  ],
  [
    "a duplicate household",
    edited(shortage, (d) => (d.slots[0].households[1].id = "C1")),
    'slots[0].households[1].id: "C1" is a duplicate household id',
  ],
  [
    "a negative reading",
    edited(shortage, (d) => (d.slots[0].households[2].metered.exportWh = -4)),
    "slots[0].households[2].metered.exportWh: -4 is negative",
  ],
  [
    "a negative physical capacity",
    edited(shortage, (d) => (d.slots[0].households[1].physicalCapacityWh = -1)),
    "slots[0].households[1].physicalCapacityWh: -1 is negative",
  ],
  [
    "a fractional reading",
    edited(shortage, (d) => (d.slots[0].households[2].metered.importWh = 0.5)),
    "slots[0].households[2].metered.importWh: 0.5 is not an integer",
  ],
  [
    "an unknown bilateral side",
    edited(shortage, (d) =>
      d.slots[0].households[0].committed.bilateral.push({
        partner: "P1",
        side: "gift",
        volumeWh: 1,
        price: 0,
      }),
    ),
    'slots[0].households[0].committed.bilateral[0].side: "gift" is not one of buy, sell',
  ],
  [
    "a missing network fee",
    edited(shortage, (d) => delete d.slots[0].prices.networkFee),
    "slots[0].prices.networkFee: missing is not a number",
  ],
  [
    "an unknown version",
    edited(shortage, (d) => (d.version = "1")),
    'version: "1" is not a supported version',
  ],
  ["truncated JSON", JSON.stringify(shortage).slice(0, 100), "(input): is not valid JSON"],
  [
    "a duplicate slot",
    edited(shortage, (d) => d.slots.push(structuredClone(d.slots[0]))),
    'slots[1].slot: "2026-06-01T12:00:00Z" is a duplicate slot',
  ],
];

describe("bad input", () => {
  for (const [command, table] of [
    ["clear", badClearInputs],
    ["bill", badBillInputs],
  ] as const) {
    for (const [what, input, expected] of table) {
      it(`snippet ${command} rejects ${what}`, async () => {
        const run = await runCli([command], input);
        assert.equal(run.code, 2);
        assert.equal(run.stdout, "");
        assert.ok(run.stderr.includes(expected), `stderr lacks "${expected}":\n${run.stderr}`);
      });
    }
  }

  it("reports every problem of an input at once", async () => {
    const input = edited(twoOrders, (d) => {
      d.orders[0].volumeWh = -1;
      d.orders[1].side = "hold";
    });
    const run = await runCli(["clear"], input);
    assert.match(run.stderr, /orders\[0\]\.volumeWh/);
    assert.match(run.stderr, /orders\[1\]\.side/);
  });

  it("rejects an unknown model, engine or command as a usage error", async () => {
    for (const argv of [["bill", "--model", "ucs-magic"], ["clear", "--engine", "quantum"], ["settle"]]) {
      const run = await runCli(argv, JSON.stringify(shortage));
      assert.equal(run.code, 2, argv.join(" "));
      assert.equal(run.stdout, "");
      assert.notEqual(run.stderr, "");
    }
  });

  it("rejects bad agent settings of simulate and compare as usage errors naming the option", async () => {
    for (const [argv, message] of [
      [["simulate", "--agents", "clever"], /Allowed choices are rule-based, strategic/],
      [
        ["simulate", "--agents", "strategic", "--replan-hours", "0"],
        /--replan-hours.*expected a whole number from 1 to 168/,
      ],
      [["compare", "--horizon-hours", "1.5"], /--horizon-hours.*expected a whole number from 1 to 168/],
      [["compare", "--days", "0"], /--days.*expected a whole number from 1 to 366/],
      [
        ["compare", "--scenario", "/nonexistent/scenario"],
        /--scenario: "\/nonexistent\/scenario" is neither a file nor a scenario/,
      ],
    ] as const) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.equal(run.stdout, "", argv.join(" "));
      assert.match(run.stderr, message, argv.join(" "));
    }
  });

  it("rejects a node without a valid party or configuration", async () => {
    for (const [argv, message] of [
      [["node", "--config", "nodes.json"], /required option '--party <index>' not specified/],
      [["node", "--config", "nodes.json", "--party", "3"], /Allowed choices are 0, 1, 2/],
      [["node", "--party", "0"], /required option '--config <file>' not specified/],
      [["node", "--config", "/nonexistent/nodes.json", "--party", "0"], /\/nonexistent\/nodes\.json/],
      [["node-config", "--out", "/tmp/x", "--base-port", "80"], /expected a whole number from 1024 to 65000/],
    ] as const) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, argv.join(" "));
      assert.equal(run.stdout, "", argv.join(" "));
      assert.match(run.stderr, message, argv.join(" "));
    }
  });

  it("writes a development node configuration that loads", async () => {
    const folder = mkdtempSync(join(tmpdir(), "snippet-cli-nodes-"));
    try {
      const run = await runCli(["node-config", "--out", folder, "--base-port", "7400"]);
      assert.equal(run.code, 0, run.stderr);
      const config = await loadNodeConfig(run.stdout.trim());
      assert.deepEqual(
        config.nodes.map((n) => [n.name, n.port, n.clientPort]),
        [
          ["node-a", 7400, 7403],
          ["node-b", 7401, 7404],
          ["node-c", 7402, 7405],
        ],
        "ports from the base",
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("names a file it cannot read", async () => {
    const run = await runCli(["clear", "/nonexistent/book.json"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /cannot read file \/nonexistent\/book\.json \(ENOENT\)/);
  });

  it("exits 2 with an empty stdout as a real process too", () => {
    const run = runSnippetProcess(["clear", "-"], "{");
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /\(input\): is not valid JSON/);
  });
});

describe("usage", () => {
  it("prints help for the program and every command", async () => {
    for (const argv of [
      ["--help"],
      ["clear", "--help"],
      ["bill", "--help"],
      ["demo", "--help"],
      ["simulate", "--help"],
      ["node", "--help"],
      ["node-config", "--help"],
      ["node-key", "--help"],
    ]) {
      const run = await runCli(argv);
      assert.equal(run.code, 0, argv.join(" "));
      assert.match(run.stdout, /Usage: snippet/);
    }
  });

  it("reads a file argument and stdin alike", async () => {
    const path = fileURLToPath(new URL("./vectors/spec/clear/two-orders.input.json", import.meta.url));
    const fromFile = await runCli(["clear", path]);
    const fromStdin = await runCli(["clear", "-"], vector("spec/clear/two-orders.input.json"));
    assert.equal(fromFile.code, 0);
    assert.equal(fromFile.stdout, fromStdin.stdout);
  });

  it("explains one slot of a community in the demo", async () => {
    const run = await runCli(["demo"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /stage 1, bilateral/);
    assert.match(run.stdout, /alice -> hospital: 0\.500 kWh donated/);
    assert.match(run.stdout, /stage 2, community auction/);
    assert.match(run.stdout, /supplier receives/);
  });

  it("bills a reading above its connection's physical capacity at the commitment, marks the slot estimated and reports it", async () => {
    // Worked example a with C1's 7 Wh refused (capacity 6 Wh): billed as example c, where C1 read its 6 Wh.
    const run = await runCli(
      ["bill"],
      edited(shortage, (d) => (d.slots[0].households[0].physicalCapacityWh = 6)),
    );
    assert.equal(run.code, 0, run.stderr);
    const reason = "the reading is above the connection's physical capacity of 6 Wh for the slot";
    const expected = JSON.parse(vector("spec/bill/ucs-c-underproduction.ucs-uniform.expected.json"));
    expected.bills[0].slots[0].estimated = true;
    expected.implausible = [{ slot: "2026-06-01T12:00:00Z", id: "C1", reason }];
    assert.deepEqual(JSON.parse(run.stdout), expected);
    assert.equal(
      run.stderr,
      `snippet bill: slot 2026-06-01T12:00:00Z, C1: ${reason}; billed at its commitment\n`,
    );
    const atCapacity = await runCli(
      ["bill"],
      edited(shortage, (d) => (d.slots[0].households[0].physicalCapacityWh = 7)),
    );
    assert.deepEqual(
      JSON.parse(atCapacity.stdout),
      JSON.parse(vector("spec/bill/ucs-a-shortage.ucs-uniform.expected.json")),
      "a reading at its capacity stands",
    );
  });

  it("prints period statements whose totals equal the bills", async () => {
    const input = vector("spec/bill/random-small.input.json");
    const bills = JSON.parse((await runCli(["bill"], input)).stdout);
    const statements = JSON.parse((await runCli(["bill", "--statements"], input)).stdout);
    assert.equal(statements.statements.length, bills.bills.length);
    statements.statements.forEach((statement: { id: string; money: { total: number } }, index: number) => {
      assert.equal(statement.id, bills.bills[index].id);
      assert.equal(statement.money.total, bills.bills[index].totalMoney);
    });
  });
});
