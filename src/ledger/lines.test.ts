import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodeAbiParameters, hexToBytes, keccak256 } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { billingSlot } from "../../test/support/communities.ts";
import { billedLines } from "../../test/support/ledger.ts";
import { checkProperty } from "../../test/support/property.ts";
import type { BillingModel } from "../billing/types.ts";
import { billSlot } from "../billing/ucs.ts";
import { bytesToHex } from "./hex.ts";
import {
  aggregatesOf,
  billLeaf,
  LINE_FIELDS,
  leafOfDigests,
  lineLeaf,
  lineOf,
  openingDigest,
  openingOf,
  recomputedBill,
  type SlotLine,
} from "./lines.ts";
import { LedgerNodes } from "./nodes.ts";

const models = fc.constantFrom<BillingModel>("ucs-uniform", "ucs-proportional");
const nodes = new LedgerNodes([generatePrivateKey(), generatePrivateKey(), generatePrivateKey()]);
const household = privateKeyToAccount(generatePrivateKey()).address;
const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const slotLine = fc
  .tuple(...LINE_FIELDS.map(() => int64))
  .map((values) => Object.fromEntries(LINE_FIELDS.map((field, i) => [field, values[i]])) as SlotLine);

describe("slot lines: what the ledger commits to per household and slot", () => {
  it("recomputes every household's bill from its line and the slot's aggregates as the reference bills it", () => {
    checkProperty(
      fc.property(billingSlot(), models, (slot, model) => {
        const lines = billedLines(slot, model);
        const aggregates = aggregatesOf(slot.prices, slot.clearingPrice, lines, model);
        assert.equal(aggregates.totalDeviationWh, billSlot(slot, model).totalDeviationWh);
        for (const line of lines) assert.equal(recomputedBill(line, aggregates, model), line.billMoney);
      }),
    );
  });

  it("gives a bill other than the reference's when the line's reading or commitments are not the metered ones", () => {
    checkProperty(
      fc.property(billingSlot(), models, fc.integer({ min: 1, max: 1000 }), (slot, model, extraWh) => {
        const lines = billedLines(slot, model);
        const aggregates = aggregatesOf(slot.prices, slot.clearingPrice, lines, model);
        for (const line of lines) {
          const misread = { ...line, importWh: line.importWh + BigInt(extraWh) };
          assert.notEqual(recomputedBill(misread, aggregates, model), line.billMoney);
        }
      }),
    );
  });

  it("opens to the committed line from the three nodes' shares, and any other line changes the leaf", () => {
    checkProperty(
      fc.property(slotLine, fc.constantFrom(...LINE_FIELDS), (line, field) => {
        const openings = nodes.openings("2026-06-01T12:00:00Z", household, line);
        assert.deepEqual(lineOf(openings), line);
        const other = { ...line, [field]: BigInt.asIntN(64, line[field] + 1n) };
        const otherLeaf = lineLeaf(household, nodes.openings("2026-06-01T12:00:00Z", household, other));
        assert.notDeepEqual(otherLeaf, lineLeaf(household, openings));
      }),
    );
  });

  it("draws the same openings for the same slot and household, and others for another slot", () => {
    const values = Object.fromEntries(LINE_FIELDS.map((field) => [field, 7n])) as SlotLine;
    const first = nodes.openings("2026-06-01T12:00:00Z", household, values);
    assert.deepEqual(nodes.openings("2026-06-01T12:00:00Z", household, values), first);
    assert.notDeepEqual(nodes.openings("2026-06-01T12:15:00Z", household, values), first);
  });

  it("builds a leaf from the nodes' digests of their openings as from the openings, and a bill's leaf as abi.encode does", () => {
    checkProperty(
      fc.property(
        slotLine,
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.bigInt({ min: -(1n << 255n), max: (1n << 255n) - 1n }),
        (line, period, money) => {
          const openings = nodes.openings("2026-06-01T12:00:00Z", household, line);
          assert.deepEqual(
            leafOfDigests(household, openings.map(openingDigest)),
            lineLeaf(household, openings),
          );
          const encoded = encodeAbiParameters(
            [{ type: "uint32" }, { type: "address" }, { type: "int256" }],
            [period, household, money],
          );
          assert.equal(bytesToHex(billLeaf(period, household, money)), keccak256(hexToBytes(encoded)));
        },
      ),
    );
  });

  it("refuses malformed openings by what is wrong with them", () => {
    const salt = new Uint8Array(32);
    const shares = LINE_FIELDS.map(() => 0n);
    const cases: [string, () => unknown, RegExp][] = [
      ["too few shares", () => openingOf(shares.slice(1), salt), /holds 9 shares and a 32-byte salt/],
      ["a short salt", () => openingOf(shares, salt.subarray(1)), /holds 9 shares and a 32-byte salt/],
      [
        "a short opening",
        () => lineOf([openingOf(shares, salt).subarray(1), openingOf(shares, salt), openingOf(shares, salt)]),
        /an opening is 104 bytes/,
      ],
    ];
    for (const [what, make, reason] of cases) assert.throws(make, reason, what);
  });
});
