import { describe, expect, it } from 'vitest';
import { requestSeeds, sampleLatent, sampleLatents } from '../src/sampling/latent.ts';

/** float32 bit pattern, independent of platform endianness. */
function bits(x: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, false);
  return dv.getUint32(0, false);
}

/**
 * Golden latents: first 8 values of sampleLatent(seed, 16), as float32 bits.
 * Generated once by this implementation and cross-checked against an independent
 * Python/mpmath (100-bit) reimplementation of SAMPLING.md. A change here changes every
 * cached image: do not "update" these without treating it as a cache-key break.
 */
const GOLDEN: Record<number, number[]> = {
  0: [0xc0038ba3, 0x3f89b0ea, 0xbfb90043, 0x3f3675aa, 0x3e59f93d, 0x3e952f22, 0xbeb859d1, 0x3de91a52],
  1: [0xbe4829df, 0xbfca22f0, 0xbe9e1bdd, 0xbf60bec5, 0x3f84728d, 0x3f50b4ff, 0xbede9471, 0xbed7bc56],
  7: [0x3c48698e, 0x3f3f80dc, 0xbe90f12e, 0x3f04e35d, 0x3e9f46c6, 0x3f5fe134, 0xbf2099e4, 0x3f1d8b07],
  4294967295: [0xbea9afd4, 0xbf668d33, 0x3f20b42d, 0x3fbfb89d, 0x3f39a68d, 0xbf10ed6a, 0x3ea4cab2, 0xbd9cb41f],
};

describe('sampleLatent', () => {
  it.each(Object.keys(GOLDEN).map(Number))('matches the golden vector for seed %i', (seed) => {
    const z = sampleLatent(seed, 16);
    expect(z).toBeInstanceOf(Float32Array);
    expect(z.length).toBe(16);
    expect(Array.from(z.subarray(0, 8), bits)).toEqual(GOLDEN[seed]);
  });

  it('is a prefix of a longer latent with the same seed, for any dim', () => {
    const long = sampleLatent(42, 64);
    for (const d of [1, 2, 3, 4, 5, 7, 8, 13, 63]) {
      expect(Array.from(sampleLatent(42, d), bits)).toEqual(Array.from(long.subarray(0, d), bits));
    }
  });

  it('differs between neighbouring seeds', () => {
    expect(Array.from(sampleLatent(100, 8))).not.toEqual(Array.from(sampleLatent(101, 8)));
  });

  it('validates its arguments with RangeErrors naming them', () => {
    for (const seed of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
      expect(() => sampleLatent(seed, 4)).toThrow(RangeError);
      expect(() => sampleLatent(seed, 4)).toThrow(/seed/);
    }
    for (const dim of [0, -3, 2.5, NaN]) {
      expect(() => sampleLatent(0, dim)).toThrow(RangeError);
      expect(() => sampleLatent(0, dim)).toThrow(/dim/);
    }
  });

  it('has mean ~0 and std ~1 over 100k samples', () => {
    const z = sampleLatent(2024, 100_000);
    let sum = 0;
    for (const v of z) sum += v;
    const mean = sum / z.length;
    let sq = 0;
    for (const v of z) sq += (v - mean) ** 2;
    const std = Math.sqrt(sq / z.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
    // Tail sanity: P(|z| > 3) = 0.0027 for a standard normal.
    const tail = z.filter((v) => Math.abs(v) > 3).length / z.length;
    expect(tail).toBeGreaterThan(0.0015);
    expect(tail).toBeLessThan(0.004);
  });
});

describe('sampleLatents', () => {
  it('stacks rows [n, dim] equal to sampleLatent per seed', () => {
    const seeds = [7, 0, 4294967295, 1];
    const all = sampleLatents(seeds, 16);
    expect(all.length).toBe(seeds.length * 16);
    seeds.forEach((s, k) => {
      expect(Array.from(all.subarray(k * 16, k * 16 + 8), bits)).toEqual(GOLDEN[s]);
      expect(Array.from(all.subarray(k * 16, (k + 1) * 16))).toEqual(Array.from(sampleLatent(s, 16)));
    });
  });

  it('names the bad seed index', () => {
    expect(() => sampleLatents([1, 2, -5], 4)).toThrow(/seeds\[2\]/);
    expect(() => sampleLatents([1], 0)).toThrow(/dim/);
  });

  it('returns an empty array for no seeds', () => {
    expect(sampleLatents([], 8).length).toBe(0);
  });
});

describe('requestSeeds', () => {
  it('returns seed, seed+1, ...', () => {
    expect(requestSeeds(5, 3)).toEqual([5, 6, 7]);
    expect(requestSeeds(4294967293, 3)).toEqual([4294967293, 4294967294, 4294967295]);
  });
  it('refuses to wrap past 2^32-1', () => {
    expect(() => requestSeeds(4294967294, 3)).toThrow(RangeError);
    expect(() => requestSeeds(0, 0)).toThrow(RangeError);
  });
});
