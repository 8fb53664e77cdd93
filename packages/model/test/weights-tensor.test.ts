import { describe, expect, it } from 'vitest';
import {
  WeightsError,
  bfloat16BitsToFloat32,
  createTensor,
  float16BitsToFloat32,
  isHostTensor,
  toFloat32,
} from '../src/weights/index.ts';

/** Reference binary16 decoding by arithmetic, to check the bit-twiddling version. */
function halfByFormula(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

describe('16-bit floats', () => {
  it('decodes all 65536 float16 patterns exactly', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const out = float16BitsToFloat32(bits);
    for (let i = 0; i < 65536; i++) {
      const want = halfByFormula(i);
      if (!Object.is(out[i], want) && !(Number.isNaN(want) && Number.isNaN(out[i]))) {
        throw new Error(`0x${i.toString(16)}: got ${out[i]}, want ${want}`);
      }
    }
  });

  it('decodes bfloat16 as the top half of a float32', () => {
    const f = Float32Array.from([1, -3.140625, 65536, -0, Infinity]);
    const top = Uint16Array.from(new Uint32Array(f.buffer), (u) => u >>> 16);
    expect(Array.from(bfloat16BitsToFloat32(top))).toEqual(Array.from(f));
  });
});

describe('HostTensor helpers', () => {
  it('validates shape against data', () => {
    expect(createTensor('int32', [2, 2], new Int32Array(4)).shape).toEqual([2, 2]);
    expect(() => createTensor('int32', [2, 3], new Int32Array(4))).toThrowError(WeightsError);
    expect(() => createTensor('int32', [-1], new Int32Array(0))).toThrowError('invalid tensor shape [-1]');
    expect(() => createTensor('float32', [1], new Int32Array(1) as unknown as Float32Array)).toThrowError(TypeError);
  });

  it('recognises tensors structurally', () => {
    expect(isHostTensor(createTensor('bool', [1], Uint8Array.of(1)))).toBe(true);
    expect(isHostTensor({ dtype: 'float32', shape: [2], data: new Float32Array(3) })).toBe(false);
    expect(isHostTensor({ dtype: 'complex64', shape: [], data: new Float32Array(1) })).toBe(false);
    expect(isHostTensor(new Map())).toBe(false);
  });

  it('converts every dtype to float32', () => {
    const f32 = createTensor('float32', [1], Float32Array.of(2));
    expect(toFloat32(f32)).toBe(f32); // no copy
    expect(toFloat32(createTensor('float16', [2], Uint16Array.of(0x3c00, 0xbc00)))).toEqual({ dtype: 'float32', shape: [2], data: Float32Array.of(1, -1) });
    expect(toFloat32(createTensor('float64', [1], Float64Array.of(0.1))).data[0]).toBe(Math.fround(0.1));
    expect(Array.from(toFloat32(createTensor('int64', [2], BigInt64Array.of(-3n, 2n ** 40n))).data)).toEqual([-3, 2 ** 40]);
    expect(Array.from(toFloat32(createTensor('bool', [2], Uint8Array.of(0, 1))).data)).toEqual([0, 1]);
    expect(Array.from(toFloat32(createTensor('int8', [1], Int8Array.of(-7))).data)).toEqual([-7]);
  });
});
