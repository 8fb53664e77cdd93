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

/** Inserts up-1 zeros after every sample in H and W: [N,C,H,W] -> [N,C,H*up,W*up]. */
export function zeroUpsample(b: Builder, x: string, channels: number, height: number, width: number, up: number): string {
  const x6 = b.reshape(x, [0, channels, height, 1, width, 1]);
  const padded = b.op('Pad', [x6, b.i64([0, 0, 0, 0, 0, 0, 0, 0, 0, up - 1, 0, up - 1])]);
  return b.reshape(padded, [0, channels, height * up, width * up]);
}

/**
 * upfirdn2d with up=1, down=1: pad (x0, x1, y0, y1), then convolve every channel with the filter
 * scaled by gain (the reference flips the filter and cross-correlates, i.e. a true convolution).
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
  const [x0, x1, y0, y1] = pad;
  const k = filter.size;
  const flipped = b.slice(filter.name, [-1, -1], [-(2 ** 62), -(2 ** 62)], [0, 1], [-1, -1]);
  const kernel = b.reshape(b.scale(flipped, gain), [1, 1, k, k]);
  const planes = b.reshape(x, [-1, 1, height, width]);
  const padded = b.op('Pad', [planes, b.i64([0, 0, y0, x0, 0, 0, y1, x1])]);
  const out = b.op('Conv', [padded, kernel], { kernel_shape: attr.ints([k, k]) });
  const outH = height + y0 + y1 - k + 1;
  const outW = width + x0 + x1 - k + 1;
  return b.reshape(out, [-1, channels, outH, outW]);
}

/** upfirdn2d.upsample2d(x, f, up=2): zero insertion, then the FIR with gain up^2. */
export function upsample2d(
  b: Builder,
  x: string,
  filter: { name: string; size: number },
  channels: number,
  height: number,
  width: number,
): string {
  const up = 2;
  const k = filter.size;
  const p0 = Math.floor((k + up - 1) / 2);
  const p1 = Math.floor((k - up) / 2);
  const z = zeroUpsample(b, x, channels, height, width, up);
  return firFilter(b, z, filter, channels, height * up, width * up, [p0, p1, p0, p1], up * up);
}
