/**
 * uint32 words -> uniforms in (0, 1) -> standard normals (Box-Muller), deterministic.
 * See SAMPLING.md for the full specification that other implementations must match.
 */
import { detCosSinTurns, detLog } from './detmath.ts';

const TWO_POW_MINUS_32 = 1 / 4294967296; // exact power of two

/**
 * u = (x + 0.5) / 2^32 in float64, for a uint32 x.
 * Uses all 32 bits; x + 0.5 needs 33 significant bits and the scale is a power of two,
 * so u is exact (no rounding at all). Range: [2^-33, 1 - 2^-33]; never 0 (log(0) would be
 * -inf) and never 1 (which would give a zero radius).
 */
export function uniformFromUint32(x: number): number {
  return ((x >>> 0) + 0.5) * TWO_POW_MINUS_32;
}

const cosSin = new Float64Array(2);

/**
 * Box-Muller on one pair of uint32 words (a, b), writing two float32 normals to
 * out[offset] and out[offset + 1]:
 *   u1 = uniform(a), u2 = uniform(b)
 *   r  = sqrt(-2 * log(u1))            (detLog; Math.sqrt is IEEE-exact)
 *   out[offset]     = fround(r * cos(2*pi*u2))
 *   out[offset + 1] = fround(r * sin(2*pi*u2))
 * All in float64, one rounding to float32 at the end (the Float32Array store is
 * exactly Math.fround).
 */
export function boxMullerInto(a: number, b: number, out: Float32Array, offset: number): void {
  const r = Math.sqrt(-2 * detLog(uniformFromUint32(a)));
  detCosSinTurns(uniformFromUint32(b), cosSin);
  out[offset] = r * cosSin[0];
  out[offset + 1] = r * cosSin[1];
}

/** Convenience form of boxMullerInto returning the pair as float32-valued numbers. */
export function boxMuller(a: number, b: number): [number, number] {
  const out = new Float32Array(2);
  boxMullerInto(a, b, out, 0);
  return [out[0], out[1]];
}
