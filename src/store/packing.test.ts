import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../test/support/property.ts";
import { IntegerPacker, unpackIntegers } from "./packing.ts";

function pack(values: readonly (number | null)[]): Uint8Array {
  const packer = new IntegerPacker();
  for (const value of values) packer.push(value);
  packer.endColumn();
  const [column] = packer.takeColumns();
  return column as Uint8Array;
}

describe("packed integer columns", () => {
  it("packs the documented examples", () => {
    assert.deepEqual([...pack([null, 0, -1, 1000])], [0x00, 0x20, 0x41, 0xa8, 0x1f]);
    assert.equal(pack([Number.MAX_SAFE_INTEGER]).length, 8);
    assert.equal(pack([-Number.MAX_SAFE_INTEGER]).length, 8);
  });

  it("unpacks exactly what it packed: any safe integers and nulls", () => {
    const value = fc.oneof(fc.constant(null), fc.integer({ min: -100, max: 100 }), fc.maxSafeInteger());
    checkProperty(
      fc.property(fc.array(value, { maxLength: 40 }), (values) => {
        assert.deepStrictEqual(unpackIntegers(pack(values), values.length), values);
      }),
    );
  });

  it("keeps the columns of one packer apart, grows as needed, and starts afresh after each take", () => {
    const packer = new IntegerPacker();
    packer.push(1);
    packer.push(null);
    packer.endColumn();
    const many = Array.from({ length: 20_000 }, (_, k) => k * 2 ** 20 - 2 ** 40);
    for (const value of many) packer.push(value);
    packer.endColumn();
    const [first, second, ...rest] = packer.takeColumns();
    assert.deepEqual(unpackIntegers(first as Uint8Array, 2), [1, null]);
    assert.deepEqual(unpackIntegers(second as Uint8Array, many.length), many);
    assert.equal(rest.length, 0);
    packer.push(7);
    packer.reset();
    packer.push(-7);
    packer.endColumn();
    assert.deepEqual(
      packer.takeColumns().map((column) => unpackIntegers(column, 1)),
      [[-7]],
    );
  });

  it("refuses values it cannot pack", () => {
    for (const bad of [1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => pack([bad]), /not a safe integer/);
  });

  it("refuses malformed bytes, naming what is wrong", () => {
    assert.throws(() => unpackIntegers(Uint8Array.of(0x20), 2), /the 1 bytes end inside a value/);
    assert.throws(() => unpackIntegers(Uint8Array.of(0x20, 0x20), 1), /1 bytes are left over/);
    assert.throws(() => unpackIntegers(Uint8Array.of(0xa0), 1), /end inside a value/);
    assert.throws(() => unpackIntegers(Uint8Array.of(0x60), 1), /value 0 has tag 3/);
    assert.throws(() => unpackIntegers(Uint8Array.of(0x01), 1), /value 0 is a null with more bits set/);
    assert.throws(
      () => unpackIntegers(Uint8Array.of(0x20, 0x00), 2, false),
      /value 1 is a null in a column without nulls/,
    );
    const tooLarge = Uint8Array.of(0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
    assert.throws(() => unpackIntegers(tooLarge, 1), /value 0 is beyond the safe integers/);
  });
});
