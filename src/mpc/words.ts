/**
 * Element-wise kernels on 64-bit word vectors. Written as plain loops over typed arrays with no
 * conditional BigInt values inside: that is the shape V8 compiles to native 64-bit instructions;
 * a ternary between BigInts or a `.map` callback falls back to heap BigInts, some 50× slower.
 * @module
 */

/**
 * A word array for a kernel that writes every element: not zero-filled first, which makes a small
 * kernel (10,000 words) about twice as fast. Its initial contents are whatever memory held before, so
 * every element must be written before it is read or sent.
 */
export function allocateWords(length: number): BigUint64Array {
  return new BigUint64Array(Buffer.allocUnsafeSlow(length * 8).buffer, 0, length);
}

/** a + b mod 2^64. */
export function addWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  for (let i = 0; i < out.length; i++) out[i] = (a[i] as bigint) + (b[i] as bigint);
  return out;
}

/** a − b mod 2^64. */
export function subWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  for (let i = 0; i < out.length; i++) out[i] = (a[i] as bigint) - (b[i] as bigint);
  return out;
}

/** −a mod 2^64. */
export function negWords(a: BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  for (let i = 0; i < out.length; i++) out[i] = -(a[i] as bigint);
  return out;
}

/** c · a mod 2^64, for one constant or one per element. */
export function scaleWords(a: BigUint64Array, c: bigint | BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  if (typeof c === "bigint") for (let i = 0; i < out.length; i++) out[i] = (a[i] as bigint) * c;
  else for (let i = 0; i < out.length; i++) out[i] = (a[i] as bigint) * (c[i] as bigint);
  return out;
}

/** a ⊕ b. */
export function xorWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  for (let i = 0; i < out.length; i++) out[i] = (a[i] as bigint) ^ (b[i] as bigint);
  return out;
}

/** ¬a. */
export function notWords(a: BigUint64Array): BigUint64Array {
  const out = allocateWords(a.length);
  for (let i = 0; i < out.length; i++) out[i] = ~(a[i] as bigint);
  return out;
}

/** Several vectors end to end. */
export function concatWords(parts: readonly BigUint64Array[]): BigUint64Array {
  const out = allocateWords(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** out[i] += c · a[i] for every i: a term of a linear combination, accumulated in place. */
export function addScaledInto(out: BigUint64Array, a: BigUint64Array, c: bigint): void {
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as bigint) + (a[i] as bigint) * c;
}

/** out[i] = a[i] + b[i] for i in [start, end). */
export function addRange(
  out: BigUint64Array,
  a: BigUint64Array,
  b: BigUint64Array,
  start: number,
  end: number,
): void {
  for (let i = start; i < end; i++) out[i] = (a[i] as bigint) + (b[i] as bigint);
}

/** out[i] = −out[i] for i in [start, end). */
export function negateRange(out: BigUint64Array, start: number, end: number): void {
  for (let i = start; i < end; i++) out[i] = -(out[i] as bigint);
}

/** out[at + k] = a[k] ⊕ b[k] for k below a's length. */
export function xorInto(out: BigUint64Array, at: number, a: BigUint64Array, b: BigUint64Array): void {
  for (let k = 0; k < a.length; k++) out[at + k] = (a[k] as bigint) ^ (b[k] as bigint);
}
