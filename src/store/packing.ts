/**
 * The byte format of a slot's household columns: one tagged variable-length integer per household.
 * Simulation values are mostly small (a few kWh, a few EUR), so most take 1–4 bytes where an `int8[]`
 * element takes 8 on disk and 12 on the wire; and PostgreSQL copies `bytea` where it converts arrays
 * element by element, which made `int8[]` columns 2–3 times as slow to store a year of 1,000 households.
 *
 * A value's first byte is `C TT MMMMM`: C set when another byte follows, TT its tag (00: null, 01:
 * non-negative, 10: negative), MMMMM the low 5 bits of its magnitude; each following byte is `C
 * MMMMMMM`, the magnitude's next 7 bits. Null is the single byte 0x00; 0 is 0x20; −1 is 0x41; 1000 is
 * 0xA8 0x1F. Any safe integer fits in 8 bytes.
 * @module
 */

const CONTINUES = 0x80;
const TAG_MASK = 0x60;
const TAG_NULL = 0x00;
const TAG_NON_NEGATIVE = 0x20;
const TAG_NEGATIVE = 0x40;
const FIRST_BITS = 32;
const NEXT_BITS = 128;
/** 5 + 7 × 7 bits hold the 53 bits of any safe integer. */
const MAX_BYTES_PER_VALUE = 8;

/**
 * Packs safe integers and nulls, one at a time, into columns. Its buffer is kept from one set of
 * columns to the next and grows as needed: allocating (and zeroing) room for the worst case on every
 * slot took a third of the time to pack it.
 */
export class IntegerPacker {
  private buffer = new Uint8Array(1 << 16);
  private at = 0;
  private readonly columnEnds: number[] = [];

  /** Forgets whatever was packed. */
  reset(): void {
    this.at = 0;
    this.columnEnds.length = 0;
  }

  /** @throws RangeError on a value that is not a safe integer (callers check first, to name it) */
  push(value: number | null): void {
    if (this.at + MAX_BYTES_PER_VALUE > this.buffer.length) this.grow();
    const bytes = this.buffer;
    let at = this.at;
    if (value === null) {
      bytes[at] = TAG_NULL;
      this.at = at + 1;
      return;
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`cannot pack ${value}: not a safe integer`);
    let magnitude = Math.abs(value);
    let byte = value < 0 ? TAG_NEGATIVE : TAG_NON_NEGATIVE;
    // Beyond 31 bits, arithmetic; then bit operations, several times faster and nearly always enough.
    if (magnitude > 0x7fff_ffff) {
      byte |= magnitude % FIRST_BITS;
      magnitude = Math.floor(magnitude / FIRST_BITS);
      while (magnitude > 0x7fff_ffff) {
        bytes[at++] = byte | CONTINUES;
        byte = magnitude % NEXT_BITS;
        magnitude = Math.floor(magnitude / NEXT_BITS);
      }
    } else {
      byte |= magnitude & (FIRST_BITS - 1);
      magnitude >>>= 5;
    }
    while (magnitude !== 0) {
      bytes[at++] = byte | CONTINUES;
      byte = magnitude & (NEXT_BITS - 1);
      magnitude >>>= 7;
    }
    bytes[at] = byte;
    this.at = at + 1;
  }

  /** Ends the column being packed. */
  endColumn(): void {
    this.columnEnds.push(this.at);
  }

  /** The columns ended since the last reset, copied out of the buffer (together); then resets. */
  takeColumns(): Uint8Array[] {
    const bytes = this.buffer.slice(0, this.at);
    let start = 0;
    const columns = this.columnEnds.map((end) => {
      const column = bytes.subarray(start, end);
      start = end;
      return column;
    });
    this.reset();
    return columns;
  }

  private grow(): void {
    const bigger = new Uint8Array(this.buffer.length * 2);
    bigger.set(this.buffer);
    this.buffer = bigger;
  }
}

/**
 * Unpacks exactly `count` values.
 * @throws RangeError when the bytes do not hold exactly `count` well-formed values.
 */
export function unpackIntegers(bytes: Uint8Array, count: number): (number | null)[];
/**
 * Unpacks exactly `count` values, none of them null.
 * @throws RangeError when the bytes do not hold exactly `count` well-formed values, or hold a null.
 */
export function unpackIntegers(bytes: Uint8Array, count: number, nullable: false): number[];
export function unpackIntegers(bytes: Uint8Array, count: number, nullable = true): (number | null)[] {
  const values = new Array<number | null>(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const first = nextByte(bytes, at++, count);
    const tag = first & TAG_MASK;
    if (tag === TAG_NULL) {
      if (first !== TAG_NULL) throw malformed(count, `value ${i} is a null with more bits set`);
      if (!nullable) throw malformed(count, `value ${i} is a null in a column without nulls`);
      values[i] = null;
      continue;
    }
    if (tag !== TAG_NON_NEGATIVE && tag !== TAG_NEGATIVE)
      throw malformed(count, `value ${i} has tag ${tag >> 5}`);
    let magnitude = first & (FIRST_BITS - 1);
    let scale = FIRST_BITS;
    for (let byte = first; byte & CONTINUES; scale *= NEXT_BITS) {
      byte = nextByte(bytes, at++, count);
      magnitude += (byte & (NEXT_BITS - 1)) * scale;
    }
    if (!Number.isSafeInteger(magnitude)) throw malformed(count, `value ${i} is beyond the safe integers`);
    values[i] = tag === TAG_NEGATIVE ? -magnitude : magnitude;
  }
  if (at !== bytes.length) throw malformed(count, `${bytes.length - at} bytes are left over`);
  return values;
}

function nextByte(bytes: Uint8Array, at: number, count: number): number {
  const byte = bytes[at];
  if (byte === undefined) throw malformed(count, `the ${bytes.length} bytes end inside a value`);
  return byte;
}

function malformed(count: number, reason: string): RangeError {
  return new RangeError(`malformed packed column of ${count} values: ${reason}`);
}
