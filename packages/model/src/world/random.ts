import { philox4x32_10Into } from '../sampling/philox.ts';
import { uniformFromUint32 } from '../sampling/normal.ts';

/** Stream constant of world scenes: ASCII 'WRLD', apart from the latent streams. */
export const WORLD_STREAM_KEY = 0x57524c44;

/**
 * Uniform numbers for one scene seed from Philox4x32-10 (key [seed, 'WRLD'], counter [i, 0, 0, 0]),
 * so a scene is a pure function of its seed on every runtime.
 */
export class WorldRandom {
  private readonly block = new Uint32Array(4);
  private used = 4;
  private counter = 0;

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`world seed must be a uint32, got ${seed}`);
  }

  /** Uniform in (0, 1). */
  next(): number {
    if (this.used === 4) {
      philox4x32_10Into(this.counter++, 0, 0, 0, this.seed, WORLD_STREAM_KEY, this.block);
      this.used = 0;
    }
    return uniformFromUint32(this.block[this.used++]);
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** Index drawn with probability proportional to weights (all >= 0, not all 0). */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((s, w) => s + w, 0);
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] > 0 && u < weights[i]) return i;
      u -= weights[i];
    }
    // Rounding left u just past the end: the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    throw new RangeError('weighted: all weights are 0');
  }
}
