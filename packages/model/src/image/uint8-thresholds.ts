import { toUint8Value } from './postprocess.ts';

/**
 * The reference postprocess (`toUint8Value`, float64 arithmetic) as a table of float32 thresholds,
 * for graphs that must reproduce it without float64 (WebGPU has none): T[k] is the smallest float32
 * x whose float64 formula truncates to k or more, so for any float32 x that is not NaN,
 * toUint8Value(x) = the largest k with x >= T[k]. T[0] = -Infinity (everything is at least 0) and
 * T[256] = +Infinity (nothing reaches 256: the formula clips at 255).
 *
 * Each threshold is found by bisection over float32 bit patterns (ordered as numbers), which is
 * exact because toUint8Value is monotone in x. Computed once per process (257 x 32 steps).
 */
export function uint8Thresholds(): Float32Array {
  cached ??= compute();
  return cached;
}

let cached: Float32Array | undefined;

const bits = new Uint32Array(1);
const float = new Float32Array(bits.buffer);

/** Float32 bit pattern -> an unsigned key with the same order as the numbers (-Inf lowest, +Inf highest). */
function keyOf(x: number): number {
  float[0] = x;
  const b = bits[0];
  return b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
}

function floatOfKey(key: number): number {
  bits[0] = key & 0x80000000 ? (key & 0x7fffffff) >>> 0 : ~key >>> 0;
  return float[0];
}

function compute(): Float32Array {
  const table = new Float32Array(257);
  table[0] = Number.NEGATIVE_INFINITY;
  table[256] = Number.POSITIVE_INFINITY;
  const lowest = keyOf(Number.NEGATIVE_INFINITY);
  const highest = keyOf(Number.POSITIVE_INFINITY);
  for (let k = 1; k < 256; k++) {
    // Invariant: toUint8Value(floatOfKey(lo)) < k <= toUint8Value(floatOfKey(hi)).
    let lo = lowest;
    let hi = highest;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (toUint8Value(floatOfKey(mid)) >= k) hi = mid;
      else lo = mid;
    }
    table[k] = floatOfKey(hi);
  }
  return table;
}

/** The float32 just above or below x, `steps` ulps away (for tests around the thresholds). */
export function float32Step(x: number, steps: number): number {
  return floatOfKey(keyOf(x) + steps);
}
