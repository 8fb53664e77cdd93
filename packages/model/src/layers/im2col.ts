import type { Builder } from '../onnx/builder.ts';

/**
 * Unfolds k x k patches of [N, C, H, W] (zero padding `pad`, stride 1) into [N, C*k*k, Ho*Wo],
 * ordered channel-major then kernel row, kernel column, matching a [O, C, k, k] weight.
 * Per-sample weights then become one batched MatMul, so any batch size runs in one call.
 */
export function im2col(b: Builder, x: string, channels: number, height: number, width: number, k: number, pad: readonly [number, number, number, number]): { cols: string; outH: number; outW: number } {
  const [top, bottom, left, right] = pad;
  const padded = top || bottom || left || right ? b.op('Pad', [x, b.i64([0, 0, top, left, 0, 0, bottom, right])]) : x;
  const outH = height + top + bottom - k + 1;
  const outW = width + left + right - k + 1;
  if (k === 1) return { cols: b.reshape(padded, [0, channels, outH * outW]), outH, outW };
  const taps: string[] = [];
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const tap = b.slice(padded, [ky, kx], [ky + outH, kx + outW], [2, 3]);
      taps.push(b.unsqueeze(tap, [2]));
    }
  }
  const stacked = b.concat(taps, 2); // [N, C, k*k, Ho, Wo]
  return { cols: b.reshape(stacked, [0, channels * k * k, outH * outW]), outH, outW };
}
