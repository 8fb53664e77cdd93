import { uint8Thresholds } from '../image/uint8-thresholds.ts';
import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

/**
 * Raw generator output [N, C, H, W] float32 -> [N, H, W, C] uint8, bit-exact with the reference
 * postprocess (image/postprocess.ts `toUint8Value`: uint8(clip((x + 1) / 2 * 255 + 0.5, 0, 255))
 * in float64, NaN -> 0) using float32 only, since WebGPU has no float64:
 *
 *   k0 = clip(floor(the formula in float32), 0, 255)    within 1 of the float64 result
 *   k  = k0 - (x < T[k0]) + (x >= T[k0 + 1])             corrected by the exact thresholds
 *
 * where T (image/uint8-thresholds.ts) holds, for each k, the smallest float32 whose float64
 * formula reaches k. NaN becomes -1 first (-> 0). The layout changes before the arithmetic, on
 * floats (GPU providers transpose floats; uint8 is only the last cast).
 */
export function toUint8Nhwc(b: Builder, image: string, tables: Uint8Tables = uint8Tables(b)): string {
  const x0 = b.transpose(image, [0, 2, 3, 1]);
  // x == x is false only for NaN (IsNaN is missing from some providers).
  const x = b.op('Where', [b.op('Equal', [x0, x0]), x0, b.f32(-1)]);
  const formula = b.add(b.mul(b.div(b.add(x, b.f32(1)), b.f32(2)), b.f32(255)), b.f32(0.5));
  const k0 = b.op('Clip', [b.op('Floor', [formula]), b.f32(0), b.f32(255)]);
  // int32 indices: GPU providers have no int64 arithmetic, and Gather takes either.
  const index = b.op('Cast', [k0], { to: attr.int(6) });
  const below = b.op('Gather', [tables.below, index], { axis: attr.int(0) }); // T[k0]
  const above = b.op('Gather', [tables.above, index], { axis: attr.int(0) }); // T[k0 + 1]
  const down = b.op('Where', [b.op('Less', [x, below]), b.sub(k0, b.f32(1)), k0]);
  const k = b.op('Where', [b.op('GreaterOrEqual', [x, above]), b.add(down, b.f32(1)), down]);
  // +Inf is >= T[256] = +Inf: the clip keeps it at 255.
  return b.op('Cast', [b.op('Clip', [k, b.f32(0), b.f32(255)])], { to: attr.int(2) });
}

/** The threshold table as two 256-entry constants, T[0..255] and T[1..256]: one pair serves every output of a graph. */
export interface Uint8Tables {
  readonly below: string;
  readonly above: string;
}

export function uint8Tables(b: Builder): Uint8Tables {
  const table = uint8Thresholds();
  return { below: b.f32(table.subarray(0, 256), [256]), above: b.f32(table.subarray(1, 257), [256]) };
}
