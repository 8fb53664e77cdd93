import { describe, expect, it } from 'vitest';
import { toUint8Image, toUint8Value } from '../src/image/postprocess.ts';

function f32(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits, false);
  return dv.getFloat32(0, false);
}

/** numpy float64 pipeline, to show the float32 cases below really differ from it. */
function viaFloat64(x: number): number {
  const v = ((x + 1) / 2) * 255 + 0.5;
  return v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
}

/**
 * [float32 bits of x, numpy's uint8(clip((x+1)/2*255+0.5, 0, 255)) for a float32 array].
 * Generated with numpy 2.4 near the k - 0.5 boundaries, chosen where float32 evaluation
 * gives a different byte than float64 evaluation would.
 */
const NUMPY_FLOAT32_CASES: [number, number][] = [
  [0xbf7efeff, 1], [0xbe888889, 94], [0xbe58d8da, 101], [0xbe30b0b2, 106],
  [0xbe08888a, 111], [0xbdd0d0d2, 115], [0xbd909092, 119], [0xbd40c0c5, 122],
  [0xbc808082, 126], [0x3c80807e, 130], [0x3d40c0c0, 134], [0x3da0a0a0, 138],
  [0x3de0e0e0, 142], [0x3e088886, 145], [0x3e28a8a8, 149], [0x3e48c8c8, 153],
  [0x3e68e8e8, 157], [0x3e80807e, 160], [0x3e949494, 165], [0x3ea8a8a8, 170],
  [0x3eb8b8b7, 174], [0x3ecccccc, 179], [0x3ee0e0e0, 184], [0x3ef0f0f0, 188],
  [0x3f028282, 193], [0x3f0c8c8b, 198], [0x3f189898, 204], [0x3f22a2a2, 209],
  [0x3f2eaeae, 215], [0x3f38b8b8, 220], [0x3f44c4c4, 226], [0x3f4ecece, 231],
  [0x3f5adada, 237], [0x3f64e4e4, 242], [0x3f70f0f0, 248], [0x3f7afafa, 253],
];

describe('toUint8Value', () => {
  it.each([
    [-1, 0],
    [1, 255],
    [-2.2, 0],
    [2.5, 255],
    [0, 128], // 127.5 + 0.5 = 128 exactly
    [0.5, 191], // 191.25 + 0.5 = 191.75 -> 191
    [-0.5, 64], // 63.75 + 0.5 = 64.25 -> 64
    [-0.9999999, 0],
    [1e-30, 128],
    [Infinity, 255],
    [-Infinity, 0],
    [NaN, 0],
  ])('maps %f to %i', (x, expected) => {
    expect(toUint8Value(x)).toBe(expected);
  });

  it.each([
    // [float32 bits of x, float32 value of (x+1)/2*255 (exact), numpy result]
    [0x00000000, 127.5, 128], // k - 0.5 -> + 0.5 = k exactly -> k
    [0x3f129292, 200.5, 201],
    [0x3f7efeff, 254.5, 255],
    [0x3b808081, 128, 128], // k -> k + 0.5 -> truncates to k
    [0x3f7dfdfe, 254, 254],
    [0x3f800000, 255, 255], // 255.5 clipped to 255
  ])('exact half cases: x bits %i scales to %f -> %i', (b, scaled, expected) => {
    const x = f32(b);
    expect(Math.fround(Math.fround(Math.fround(x + 1) / 2) * 255)).toBe(scaled);
    expect(toUint8Value(x)).toBe(expected);
  });

  it.each(NUMPY_FLOAT32_CASES)('matches numpy float32 evaluation for x bits %i', (b, expected) => {
    const x = f32(b);
    expect(toUint8Value(x)).toBe(expected);
    expect(viaFloat64(x)).not.toBe(expected); // float64 evaluation would be off by one here
  });
});

describe('toUint8Image', () => {
  it('converts NCHW RGB to per-image HWC', () => {
    // n=2, c=3, h=1, w=2
    const x = new Float32Array([
      // image 0: R plane, G plane, B plane
      -1, 1, 0, 0.5, -2.2, 2.5,
      // image 1
      1, 1, -1, -1, 0, 0,
    ]);
    const [a, b] = toUint8Image(x, [2, 3, 1, 2]);
    expect(Array.from(a)).toEqual([0, 128, 0, 255, 191, 255]);
    expect(Array.from(b)).toEqual([255, 0, 128, 255, 0, 128]);
  });

  it('supports grayscale (c=1)', () => {
    const out = toUint8Image(new Float32Array([-1, 0, 1, 3]), [1, 1, 2, 2]);
    expect(out).toHaveLength(1);
    expect(Array.from(out[0])).toEqual([0, 128, 255, 255]);
  });

  it('validates the shape', () => {
    expect(() => toUint8Image(new Float32Array(8), [1, 2, 2, 2])).toThrow(/shape.c/);
    expect(() => toUint8Image(new Float32Array(5), [1, 1, 2, 2])).toThrow(RangeError);
    expect(() => toUint8Image(new Float32Array(4), [1, 1, 0, 4])).toThrow(/shape.h/);
  });
});
