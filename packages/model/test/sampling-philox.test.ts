import { describe, expect, it } from 'vitest';
import { mulhi32, mullo32, philox4x32_10, philox4x32_10Into } from '../src/sampling/philox.ts';

const hex = (a: ArrayLike<number>): number[] => Array.from(a, (x) => x >>> 0);

describe('Philox4x32-10', () => {
  // Known-answer vectors from Random123's kat_vectors (philox4x32 10 ...).
  it.each([
    {
      ctr: [0, 0, 0, 0],
      key: [0, 0],
      out: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
    },
    {
      ctr: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      key: [0xffffffff, 0xffffffff],
      out: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    },
    {
      ctr: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      key: [0xa4093822, 0x299f31d0],
      out: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    },
  ])('matches Random123 KAT for counter $ctr key $key', ({ ctr, key, out }) => {
    const c = ctr as [number, number, number, number];
    const k = key as [number, number];
    expect(hex(philox4x32_10(c, k))).toEqual(out);
    const buf = new Uint32Array(6);
    philox4x32_10Into(c[0], c[1], c[2], c[3], k[0], k[1], buf, 2);
    expect(hex(buf.subarray(2))).toEqual(out);
  });

  it('rejects non-uint32 words', () => {
    expect(() => philox4x32_10([0, 0, 0, -1], [0, 0])).toThrow(RangeError);
    expect(() => philox4x32_10([0, 0, 0, 0], [2 ** 32, 0])).toThrow(RangeError);
    expect(() => philox4x32_10([0.5, 0, 0, 0], [0, 0])).toThrow(RangeError);
  });
});

describe('32-bit multiply halves', () => {
  const edge = [0, 1, 2, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xd2511f53, 0xcd9e8d57];
  it('mulhi32/mullo32 equal the BigInt product on edge values', () => {
    for (const a of edge) {
      for (const b of edge) {
        const p = BigInt(a) * BigInt(b);
        expect(mulhi32(a, b)).toBe(Number(p >> 32n));
        expect(mullo32(a, b)).toBe(Number(p & 0xffffffffn));
      }
    }
  });

  it('mulhi32 equals the BigInt product on pseudo-random values', () => {
    // xorshift32 so the test is reproducible without Math.random
    let s = 0x12345678;
    const next = (): number => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return s >>> 0;
    };
    for (let i = 0; i < 20000; i++) {
      const a = next();
      const b = next();
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }
  });
});
