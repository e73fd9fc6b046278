import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RequestGuard, signRequest } from "../roles/mpc-node/signed-request.ts";
import { ValidationError } from "../validation/index.ts";
import {
  canonicalJson,
  generateRawKeyPair,
  privateKeyFromHex,
  publicKeyFromHex,
  signJson,
  verifyJson,
} from "./keys.ts";
import { generateRegistry, parseRegistry, privateKeyOf, type RegistryFile } from "./registry.ts";

const generated = generateRegistry({
  households: [
    { id: "h0", zone: "z0", supplier: "s0" },
    { id: "h1", zone: "z1", supplier: "s0" },
  ],
});

describe("the registry", () => {
  it("reads a generated registry: parties with their roles, one meter per household", () => {
    const registry = parseRegistry(generated.file);
    assert.deepEqual(
      [...registry.parties.values()].map((party) => [party.id, party.role]),
      [
        ["operator", "operator"],
        ["dso", "dso"],
        ["s0", "supplier"],
        ["h0", "household"],
        ["h1", "household"],
      ],
    );
    assert.deepEqual(
      [...registry.meterOf],
      [
        ["h0", "meter-h0"],
        ["h1", "meter-h1"],
      ],
    );
    assert.equal(registry.minGroupMeters, 3);
  });

  it("gives each generated household a ledger address, its key in the keys file", async () => {
    const { privateKeyToAddress } = await import("viem/accounts");
    const registry = parseRegistry(generated.file);
    for (const id of ["h0", "h1"]) {
      const key = generated.keys.ledger?.[id] as `0x${string}`;
      assert.equal(registry.parties.get(id)?.ledgerAddress, privateKeyToAddress(key));
    }
    assert.equal(registry.parties.get("s0")?.ledgerAddress, undefined);
    assert.notEqual(registry.parties.get("h0")?.ledgerAddress, registry.parties.get("h1")?.ledgerAddress);
  });

  it("refuses a bad registry, naming each bad entry", () => {
    const file = generated.file;
    const [operator, dso] = file.parties as [
      RegistryFile["parties"][number],
      RegistryFile["parties"][number],
    ];
    const [m0] = file.meters as [RegistryFile["meters"][number]];
    const [h0, h1] = file.parties.slice(3) as [
      RegistryFile["parties"][number],
      RegistryFile["parties"][number],
    ];
    const cases: [string, unknown, RegExp][] = [
      ["not an object", 7, /is not an object|expected object/i],
      ["an unknown role", { ...file, parties: [{ ...operator, role: "king" }] }, /parties\[0\]\.role/],
      [
        "a short key",
        { ...file, parties: [{ ...operator, signingKey: "abcd" }] },
        /parties\[0\]\.signingKey: is not a 32-byte key in hex/,
      ],
      [
        "a party twice",
        { ...file, parties: [...file.parties, dso] },
        /parties\[5\]\.id: "dso" is listed twice/,
      ],
      [
        "a meter of an unknown household",
        { ...file, meters: [{ ...m0, household: "h9" }] },
        /meters\[0\]\.household: "h9" is not a registered household/,
      ],
      [
        "a meter of a supplier",
        { ...file, meters: [{ ...m0, household: "s0" }] },
        /"s0" is not a registered household/,
      ],
      [
        "a meter's unknown supplier",
        { ...file, meters: [{ ...m0, supplier: "dso" }] },
        /meters\[0\]\.supplier: "dso" is not a registered supplier/,
      ],
      [
        "two meters in one home",
        { ...file, meters: [m0, { ...m0, id: "meter-x" }] },
        /meters\[1\]\.household: "h0" already has meter meter-h0/,
      ],
      ["a meter twice", { ...file, meters: [m0, m0] }, /meters\[1\]\.id: "meter-h0" is listed twice/],
      ["a zero group size", { ...file, minGroupMeters: 0 }, /minGroupMeters/],
      [
        "a partnership of a supplier",
        { ...file, partners: [{ seller: "s0", buyers: ["h0"] }] },
        /partners\[0\]\.seller: "s0" is not a registered household/,
      ],
      [
        "a household its own partner",
        { ...file, partners: [{ seller: "h0", buyers: ["h0"] }] },
        /partners\[0\]\.buyers\[0\]: a household cannot be its own partner/,
      ],
      [
        "a partner twice",
        { ...file, partners: [{ seller: "h0", buyers: ["h1", "h1"] }] },
        /partners\[0\]\.buyers\[1\]: "h1" is listed twice/,
      ],
      [
        "a seller twice",
        {
          ...file,
          partners: [
            { seller: "h0", buyers: ["h1"] },
            { seller: "h0", buyers: [] },
          ],
        },
        /partners\[1\]\.seller: "h0" is listed twice/,
      ],
      [
        "a meter outside the zones",
        { ...file, zones: [{ id: "north", exportLimitWh: 10, importLimitWh: 10 }] },
        /meters\[0\]\.zone: "z0" is not one of the registry's zones/,
      ],
      [
        "a negative connection cap",
        { ...file, meters: [{ ...m0, connectionCapWh: -1 }] },
        /meters\[0\]\.connectionCapWh/,
      ],
      [
        "a physical capacity above the per-slot maximum",
        { ...file, meters: [{ ...m0, physicalCapacityWh: 2 ** 32 }] },
        /meters\[0\]\.physicalCapacityWh: 4294967296 is above the per-slot maximum/,
      ],
      ["an unknown field", { ...file, admin: true }, /unknown field "admin"/],
      [
        "a short ledger address",
        { ...file, parties: [operator, dso, file.parties[2], { ...h0, ledgerAddress: "0x1234" }, h1] },
        /parties\[3\]\.ledgerAddress: is not a ledger address/,
      ],
      [
        "a ledger address of the operator",
        {
          ...file,
          parties: [{ ...operator, ledgerAddress: h0.ledgerAddress }, dso, ...file.parties.slice(2)],
        },
        /parties\[0\]\.ledgerAddress: only a household has a ledger address here/,
      ],
      [
        "two households with one ledger address",
        {
          ...file,
          parties: [
            operator,
            dso,
            file.parties[2],
            h0,
            { ...h1, ledgerAddress: h0.ledgerAddress?.toUpperCase().replace("0X", "0x") },
          ],
        },
        /parties\[4\]\.ledgerAddress: is also h0's: every household needs its own/,
      ],
    ];
    for (const [what, value, reason] of cases) {
      assert.throws(
        () => parseRegistry(value),
        (error: unknown) => error instanceof ValidationError && reason.test(error.message),
        what,
      );
    }
  });
});

describe("the DSO's map in the registry", () => {
  it("orders partnerships as the market processes them: sellers by id, each seller's buyers in its priority order", () => {
    const registry = parseRegistry({
      ...generated.file,
      partners: [
        { seller: "h1", buyers: ["h0"] },
        { seller: "h0", buyers: ["h1"] },
      ],
    });
    assert.deepEqual(registry.pairs, [
      { seller: "h0", buyer: "h1" },
      { seller: "h1", buyer: "h0" },
    ]);
  });
});

describe("keys and signatures", () => {
  it("sign canonical JSON: the same value in any key order verifies, another value does not", () => {
    const { publicHex, privateHex } = generateRawKeyPair();
    const signature = signJson("d", { b: 1, a: [2, { z: 1, y: 2 }] }, privateKeyFromHex(privateHex));
    const key = publicKeyFromHex(publicHex);
    assert.equal(canonicalJson({ b: 1, a: { d: 1, c: 2 } }), '{"a":{"c":2,"d":1},"b":1}');
    assert.ok(verifyJson("d", { a: [2, { y: 2, z: 1 }], b: 1 }, signature, key));
    assert.ok(!verifyJson("d", { a: [2, { y: 2, z: 1 }], b: 2 }, signature, key));
    assert.ok(!verifyJson("e", { a: [2, { y: 2, z: 1 }], b: 1 }, signature, key), "another domain");
  });
});

describe("a node's check of signed requests", () => {
  const registry = parseRegistry(generated.file);
  const dsoKey = privateKeyOf(generated.keys, "parties", "dso");
  const request = {
    job: "j1",
    program: "meter-totals",
    params: { slot: "2026-06-01T12:00:00Z", by: "zone" },
  };

  it("names the signer, refuses a replay, a stale or future date and a changed request", () => {
    let now = 1_800_000_000_000;
    const guard = new RequestGuard(registry, () => now);
    const auth = signRequest(request, "dso", dsoKey, now);
    assert.deepEqual(guard.check({ ...request }), {});
    assert.deepEqual(guard.check({ ...request, params: { ...request.params, by: "supplier" }, auth }), {
      problem: "the request is not signed by dso",
    });
    assert.equal((guard.check({ ...request, auth }) as { requester: { id: string } }).requester.id, "dso");
    assert.deepEqual(guard.check({ ...request, auth }), { problem: "job j1 was already taken: a replay" });
    now += 3_600_000;
    const late = {
      ...request,
      job: "j2",
      auth: signRequest({ ...request, job: "j2" }, "dso", dsoKey, now - 400_000),
    };
    assert.match((guard.check(late) as { problem: string }).problem, /signed 400 s ago, beyond the 300 s/);
    const early = {
      ...request,
      job: "j3",
      auth: signRequest({ ...request, job: "j3" }, "dso", dsoKey, now + 400_000),
    };
    assert.match(
      (guard.check(early) as { problem: string }).problem,
      /dated 400 s ahead of this node's clock/,
    );
    assert.deepEqual(new RequestGuard(undefined, () => now).check({ ...request, auth }), {
      problem: "party dso is not registered",
    });
  });
});
