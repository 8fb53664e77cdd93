import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

/** upfirdn2d.setup_filter for a 1-D kernel: outer product, normalised to sum 1 (non-separable). */
export function setupFilter(kernel: readonly number[]): Float32Array {
  const n = kernel.length;
  const f = new Float64Array(n * n);
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sum += f[i * n + j] = kernel[i] * kernel[j];
  return Float32Array.from(f, (v) => v / sum);
}

/** Declares a module's `filter` buffer (the reference stores it in the state dict). */
export function filterBuffer(b: Builder, kernel: readonly number[]): { name: string; size: number } {
  const size = kernel.length;
  const name = b.param('filter', [size, size], { kind: 'values', values: setupFilter(kernel) }, { buffer: true });
  return { name, size };
}

/**
 * The filter as one [C, 1, k, k] kernel per channel (for a depthwise Conv or ConvTranspose with
 * group = C), scaled by gain, flipped in both axes when `flip`. It is computed from the `filter`
 * initializer (the checkpoint's buffer, which must stay general), so runtimes fold it to a
 * constant when the session is created.
 */
function depthwiseKernel(b: Builder, filter: { name: string; size: number }, channels: number, gain: number, flip: boolean): string {
  const k = filter.size;
  const f = flip ? b.slice(filter.name, [-1, -1], [-(2 ** 62), -(2 ** 62)], [0, 1], [-1, -1]) : filter.name;
  return b.op('Expand', [b.reshape(b.scale(f, gain), [1, 1, k, k]), b.i64([channels, 1, k, k])]);
}

/** Crops the negative entries of `pad` ([x0, x1, y0, y1]) off x's spatial axes; returns the non-negative rest. */
function cropNegative(b: Builder, x: string, height: number, width: number, pad: readonly [number, number, number, number]): { x: string; pad: [number, number, number, number] } {
  const [x0, x1, y0, y1] = pad;
  if (x0 >= 0 && x1 >= 0 && y0 >= 0 && y1 >= 0) return { x, pad: [x0, x1, y0, y1] };
  const c = (p: number) => Math.max(-p, 0);
  const cropped = b.slice(x, [c(y0), c(x0)], [height - c(y1), width - c(x1)], [2, 3]);
  return { x: cropped, pad: [Math.max(x0, 0), Math.max(x1, 0), Math.max(y0, 0), Math.max(y1, 0)] };
}

/**
 * upfirdn2d with up=1, down=1: pad (x0, x1, y0, y1) (negative crops), then convolve every channel
 * with the filter scaled by gain (the reference flips the filter and cross-correlates, i.e. a
 * true convolution). One depthwise Conv (group = C) with the padding folded in: runtimes run it
 * far faster than a Conv over [N*C, 1, H, W] planes.
 */
export function firFilter(
  b: Builder,
  x: string,
  filter: { name: string; size: number },
  channels: number,
  height: number,
  width: number,
  pad: readonly [number, number, number, number],
  gain: number,
): string {
  const k = filter.size;
  const { x: input, pad: p } = cropNegative(b, x, height, width, pad);
  const [x0, x1, y0, y1] = p;
  return b.op('Conv', [input, depthwiseKernel(b, filter, channels, gain, true)], {
    kernel_shape: attr.ints([k, k]),
    group: attr.int(channels),
    pads: attr.ints([y0, x0, y1, x1]),
  });
}

/**
 * upfirdn2d.upsample2d(x, f, up=2): zero insertion, pad (p0, p1), then the FIR with gain 4,
 * as ONE depthwise ConvTranspose with stride 2 (zero insertion folded in, no wasted products).
 * Output [N, C, 2H, 2W].
 */
export function upsample2d(
  b: Builder,
  x: string,
  filter: { name: string; size: number },
  channels: number,
  _height: number,
  _width: number,
): string {
  const up = 2;
  const k = filter.size;
  const p0 = Math.floor((k + up - 1) / 2);
  const p1 = Math.floor((k - up) / 2);
  // out[r] = sum_j f[j] z[r + k-1 - j - p0], z[2i] = x[i]  <=>  ConvTranspose(x, f) with pad_begin k-1-p0.
  const kernel = depthwiseKernel(b, filter, channels, up * up, false);
  return stridedTransposedConv(b, x, kernel, channels, k, [k - 1 - p0, k - 1 - p1 - (up - 1)]);
}

/**
 * ConvTranspose with stride 2, `groups` groups and a kxk kernel, cropped by `pads` = [begin, end]
 * on both spatial axes; negative pads extend the output with zeros (ONNX pads must be >= 0).
 * Full (unpadded) output length along an axis is 2 (n - 1) + k.
 */
export function stridedTransposedConv(
  b: Builder,
  x: string,
  kernel: string,
  groups: number,
  k: number,
  pads: readonly [number, number],
): string {
  const [pb, pe] = pads;
  const y = b.op('ConvTranspose', [x, kernel], {
    kernel_shape: attr.ints([k, k]),
    strides: attr.ints([2, 2]),
    group: attr.int(groups),
    pads: attr.ints([Math.max(pb, 0), Math.max(pb, 0), Math.max(pe, 0), Math.max(pe, 0)]),
  });
  if (pb >= 0 && pe >= 0) return y;
  const eb = Math.max(-pb, 0);
  const ee = Math.max(-pe, 0);
  return b.op('Pad', [y, b.i64([0, 0, eb, eb, 0, 0, ee, ee])]);
}
