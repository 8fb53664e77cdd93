/**
 * Deterministic float64 `log` and `sin/cos` of an angle given in turns.
 *
 * Why: ECMAScript does not pin down Math.log / Math.sin / Math.cos ("implementation-
 * approximated"), and engines (and V8 versions) really do differ in the last bit. The
 * latents must be bit-identical everywhere, so these are written using only operations
 * that IEEE 754 / ECMAScript define exactly: + - * / on float64 (round-to-nearest-even,
 * no FMA contraction, no extended precision in JS), Math.floor, and reinterpreting the
 * float64 bit pattern through a DataView with explicit endianness.
 *
 * Accuracy (checked in tests against the engine's Math functions): about 1 ulp, far
 * below what survives the final rounding of a latent to float32.
 */

const bits = new DataView(new ArrayBuffer(8));

/**
 * ln 2 split as in fdlibm e_log.c: LN2_HI has its low 21 significand bits zero, so
 * k * LN2_HI is exact for |k| < 2^21; LN2_LO carries the rest.
 * Bit patterns: 0x3fe62e42_fee00000 and 0x3dea39ef_35793c76.
 */
export const LN2_HI = 6.93147180369123816490e-1;
export const LN2_LO = 1.90821492927058770002e-10;

const SQRT2 = 1.4142135623730951; // nearest double to sqrt(2); only a range-split threshold
const TWO_POW_54 = 18014398509481984; // 2^54, scales subnormals into the normal range

/**
 * Coefficients 2/(2k+1), k = 1..12, of 2*atanh(s)/s - 2 = sum_k 2 s^(2k) / (2k+1).
 * Each is one correctly rounded IEEE division, hence identical on every engine.
 * |s| <= 3 - 2*sqrt(2) ~ 0.1716, so s^2 <= 0.0295 and the k = 12 term is ~3e-20 relative:
 * the truncated series is accurate to well under 1 ulp.
 */
const LOG_COEFFS: readonly number[] = Array.from({ length: 12 }, (_, i) => 2 / (2 * (i + 1) + 1));

/**
 * Natural logarithm, deterministic. Domain handling mirrors Math.log
 * (x < 0 or NaN -> NaN, 0 -> -Infinity, +Infinity -> +Infinity).
 *
 * Algorithm (fdlibm's e_log.c structure with a plain Taylor series instead of its
 * minimax polynomial):
 *   1. x = 2^k * m with m in [sqrt(1/2), sqrt(2)), read from the exponent bits
 *      (subnormals are first scaled by 2^54).
 *   2. f = m - 1 (exact: Sterbenz), s = f / (2 + f), so log(m) = log(1+f) = 2 atanh(s).
 *   3. With hfsq = f^2/2 and R = sum_k 2 s^(2k)/(2k+1):
 *      log(1+f) = f - hfsq + s*(hfsq + R)   (keeps the exact f as the leading term)
 *   4. log(x) = k*LN2_HI - ((hfsq - (s*(hfsq + R) + k*LN2_LO)) - f).
 */
export function detLog(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return Infinity;
  let k = 0;
  if (x < 2.2250738585072014e-308) {
    x *= TWO_POW_54; // exact: subnormal times a power of two
    k = -54;
  }
  bits.setFloat64(0, x, false);
  const hi = bits.getUint32(0, false);
  k += ((hi >>> 20) & 0x7ff) - 1023;
  // Same significand, exponent forced to 0 -> m in [1, 2).
  bits.setUint32(0, (hi & 0x000fffff) | 0x3ff00000, false);
  let m = bits.getFloat64(0, false);
  if (m > SQRT2) {
    m *= 0.5; // exact
    k += 1;
  }
  const f = m - 1;
  const s = f / (2 + f);
  const z = s * s;
  let r = LOG_COEFFS[LOG_COEFFS.length - 1];
  for (let i = LOG_COEFFS.length - 2; i >= 0; i--) r = LOG_COEFFS[i] + z * r;
  r *= z;
  const hfsq = 0.5 * f * f;
  return k * LN2_HI - (hfsq - (s * (hfsq + r) + k * LN2_LO) - f);
}

/**
 * 1/n! for n = 0..22. n! is exactly representable in float64 up to n = 22 (its odd
 * part stays below 2^53), so the products below are exact and each reciprocal is a single
 * correctly rounded division: identical on every engine.
 */
const INV_FACT: readonly number[] = (() => {
  const out: number[] = [];
  let fact = 1;
  for (let n = 0; n <= 22; n++) {
    if (n > 0) fact *= n;
    out.push(1 / fact);
  }
  return out;
})();

/** Nearest double to 2*pi. Relative error 4e-17, below the 1-ulp budget. */
const TWO_PI = 6.283185307179586;

/** (-1)^j / (2j+1)!, j = 1..10: sin t = t + t^3 * sum_j SIN_COEFFS[j-1] * z^(j-1), z = t^2. */
const SIN_COEFFS: readonly number[] = Array.from({ length: 10 }, (_, i) => {
  const j = i + 1;
  return (j & 1 ? -1 : 1) * INV_FACT[2 * j + 1]; // sign flip is exact
});

/** (-1)^j / (2j)!, j = 2..11: cos t = 1 - z/2 + z^2 * sum_j COS_COEFFS[j-2] * z^(j-2). */
const COS_COEFFS: readonly number[] = Array.from({ length: 10 }, (_, i) => {
  const j = i + 2;
  return (j & 1 ? -1 : 1) * INV_FACT[2 * j];
});

/**
 * Taylor kernels for |t| <= pi/4 (+ a hair), Horner form. sin stops at t^21 and cos at
 * t^22: the first omitted terms are below 1e-20 relative, so truncation is negligible next
 * to the ~1e-16 rounding of the evaluation itself.
 */
function sinKernel(t: number): number {
  const z = t * t;
  let p = SIN_COEFFS[SIN_COEFFS.length - 1];
  for (let i = SIN_COEFFS.length - 2; i >= 0; i--) p = SIN_COEFFS[i] + z * p;
  return t + t * z * p;
}

function cosKernel(t: number): number {
  const z = t * t;
  let p = COS_COEFFS[COS_COEFFS.length - 1];
  for (let i = COS_COEFFS.length - 2; i >= 0; i--) p = COS_COEFFS[i] + z * p;
  return 1 - 0.5 * z + z * z * p;
}

/**
 * [cos(2*pi*t), sin(2*pi*t)] for a finite t measured in turns, deterministic.
 *
 * Range reduction happens in turns, where it is exact: r = t - floor(t) is the exact
 * fractional part, n = floor(4r + 1/2) picks the nearest quarter turn, and
 * f = r - n/4 in [-1/8, 1/8] is exact (both are multiples of ulp(r)). Only then is the
 * angle formed, theta = 2*pi*f with |theta| <= pi/4, and the quadrant n mod 4 rotates
 * (cos theta, sin theta) by n quarter turns. This avoids the hard part of a general
 * sin/cos (reducing a radian argument modulo an irrational pi).
 *
 * Writes into `out` (length >= 2) to stay allocation-free in the sampling loop.
 */
export function detCosSinTurns(t: number, out: Float64Array | number[]): void {
  if (!Number.isFinite(t)) {
    out[0] = NaN;
    out[1] = NaN;
    return;
  }
  const r = t - Math.floor(t);
  const n = Math.floor(4 * r + 0.5);
  const theta = (r - n * 0.25) * TWO_PI;
  const c = cosKernel(theta);
  const s = sinKernel(theta);
  switch (n & 3) {
    case 0:
      out[0] = c;
      out[1] = s;
      break;
    case 1:
      out[0] = -s;
      out[1] = c;
      break;
    case 2:
      out[0] = -c;
      out[1] = -s;
      break;
    default:
      out[0] = s;
      out[1] = -c;
      break;
  }
}
