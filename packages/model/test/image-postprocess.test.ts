import { describe, expect, it } from 'vitest';
import { toUint8Image, toUint8Value } from '../src/image/postprocess.ts';

function f32(bits: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, bits, false);
  return dv.getFloat32(0, false);
}

/** numpy evaluation of the same formula on an uncast float32 array: every op rounds to float32. */
function viaFloat32(x: number): number {
  let v = Math.fround(Math.fround(x) + 1);
  v = Math.fround(Math.fround(v / 2) * 255);
  v = Math.fround(v + 0.5);
  return v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
}

/**
 * [float32 bits of x, the reference utils/image_utils.postprocess_image result for x] (Aurora
 * c911413, which casts to float64 first; values produced by running that function). Chosen
 * near the k + 0.5 boundaries, where float32 evaluation would give one more.
 */
const REFERENCE_CASES: [number, number][] = [
  [0xbf7efeff, 0], [0xbe888889, 93], [0xbe58d8da, 100], [0xbe30b0b2, 105],
  [0xbe08888a, 110], [0xbdd0d0d2, 114], [0xbd909092, 118], [0xbd40c0c5, 121],
  [0xbc808082, 125], [0x3c80807e, 129], [0x3d40c0c0, 133], [0x3da0a0a0, 137],
  [0x3de0e0e0, 141], [0x3e088886, 144], [0x3e28a8a8, 148], [0x3e48c8c8, 152],
  [0x3e68e8e8, 156], [0x3e80807e, 159], [0x3e949494, 164], [0x3ea8a8a8, 169],
  [0x3eb8b8b7, 173], [0x3ecccccc, 178], [0x3ee0e0e0, 183], [0x3ef0f0f0, 187],
  [0x3f028282, 192], [0x3f0c8c8b, 197], [0x3f189898, 203], [0x3f22a2a2, 208],
  [0x3f2eaeae, 214], [0x3f38b8b8, 219], [0x3f44c4c4, 225], [0x3f4ecece, 230],
  [0x3f5adada, 236], [0x3f64e4e4, 241], [0x3f70f0f0, 247], [0x3f7afafa, 252],
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
    // [float32 bits of x, reference result]
    [0x00000000, 128], // 127.5 + 0.5 = 128 exactly
    [0x3f129292, 200], // float64 scale 200.4999... (float32 would round it to 200.5 -> 201)
    [0x3f7efeff, 255],
    [0x3b808081, 128],
    [0x3f7dfdfe, 254],
    [0x3f800000, 255], // 255.5 clipped to 255
  ])('boundary cases: x bits %i -> %i', (b, expected) => {
    expect(toUint8Value(f32(b))).toBe(expected);
  });

  it.each(REFERENCE_CASES)('matches the reference (float64) postprocess for x bits %i', (b, expected) => {
    const x = f32(b);
    expect(toUint8Value(x)).toBe(expected);
    expect(viaFloat32(x)).toBe(expected + 1); // float32 evaluation would be one higher here
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

  it('supports RGBA (c=4), as the reference postprocess does', () => {
    const [px] = toUint8Image(new Float32Array([-1, 1, 0, 0.5, 1, -1, 0, 2]), [1, 4, 1, 2]);
    expect(Array.from(px)).toEqual([0, 128, 255, 128, 255, 191, 0, 255]); // HWC: RGBA per pixel
  });

  it('validates the shape', () => {
    expect(() => toUint8Image(new Float32Array(8), [1, 2, 2, 2])).toThrow(/shape.c/);
    expect(() => toUint8Image(new Float32Array(5), [1, 1, 2, 2])).toThrow(RangeError);
    expect(() => toUint8Image(new Float32Array(4), [1, 1, 0, 4])).toThrow(/shape.h/);
  });
});
