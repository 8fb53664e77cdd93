/**
 * Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3" (SC'11), as shipped in Random123.
 *
 * Why a counter-based generator: the i-th block is a pure function of (key, counter),
 * so every runtime computes the same bits without carrying state, and any slice of a
 * stream can be produced independently.
 *
 * Why this is bit-exact on every JS engine: the integer part uses only `Math.imul`,
 * `^`, `&`, `>>>` and additions of non-negative integers below 2^53, all of which
 * ECMAScript specifies exactly. The 32x32->64 multiply is split into 16-bit halves so no
 * intermediate ever exceeds 2^33 (well inside the exactly representable range).
 */

/** Round multipliers and Weyl key increments from Random123 (philox.h). */
const PHILOX_M4x32_0 = 0xd2511f53;
const PHILOX_M4x32_1 = 0xcd9e8d57;
const PHILOX_W32_0 = 0x9e3779b9; // golden ratio
const PHILOX_W32_1 = 0xbb67ae85; // sqrt(3) - 1

export const PHILOX_ROUNDS = 10;

/**
 * High 32 bits of the 64-bit product of two uint32 values.
 * a = ah*2^16 + al, b = bh*2^16 + bl; each partial product is < 2^32 and is taken with
 * Math.imul(..) >>> 0 (exact because it fits in 32 bits), then the carries are summed.
 */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = Math.imul(al, bl) >>> 0;
  const lh = Math.imul(al, bh) >>> 0;
  const hl = Math.imul(ah, bl) >>> 0;
  const hh = Math.imul(ah, bh) >>> 0;
  // Bits 16..47 of the product; each addend is < 2^16 so the sum is < 3*2^16.
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  // hh <= (2^16-1)^2 and the true high word is < 2^32, so this sum is exact; >>> 0 just types it.
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Low 32 bits of the product of two uint32 values. */
export function mullo32(a: number, b: number): number {
  return Math.imul(a, b) >>> 0;
}

/**
 * One Philox4x32 block: 10 rounds over counter (c0..c3) with key (k0, k1).
 * Writes the four uint32 outputs to `out[offset..offset+3]` (no allocation, so it is
 * cheap to call once per 4 outputs). All inputs must already be uint32 values.
 */
export function philox4x32_10Into(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
  offset = 0,
): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    // Random123 bumps the key between rounds, i.e. before every round but the first.
    if (round > 0) {
      key0 = (key0 + PHILOX_W32_0) >>> 0;
      key1 = (key1 + PHILOX_W32_1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M4x32_0, x0);
    const lo0 = mullo32(PHILOX_M4x32_0, x0);
    const hi1 = mulhi32(PHILOX_M4x32_1, x2);
    const lo1 = mullo32(PHILOX_M4x32_1, x2);
    const y0 = (hi1 ^ x1 ^ key0) >>> 0;
    const y2 = (hi0 ^ x3 ^ key1) >>> 0;
    x0 = y0;
    x1 = lo1;
    x2 = y2;
    x3 = lo0;
  }
  out[offset] = x0;
  out[offset + 1] = x1;
  out[offset + 2] = x2;
  out[offset + 3] = x3;
}

export type PhiloxCounter = readonly [number, number, number, number];
export type PhiloxKey = readonly [number, number];

/** Philox4x32-10 of one counter under one key; returns the 4 output words. */
export function philox4x32_10(counter: PhiloxCounter, key: PhiloxKey): Uint32Array {
  for (const w of [...counter, ...key]) {
    if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
      throw new RangeError(`philox4x32_10: every counter/key word must be a uint32, got ${w}`);
    }
  }
  const out = new Uint32Array(4);
  philox4x32_10Into(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out, 0);
  return out;
}
