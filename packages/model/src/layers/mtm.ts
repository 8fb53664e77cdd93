import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';
import { dense } from './dense.ts';
import { im2col } from './im2col.ts';
import type { ModulatedConvOptions } from './modulated-conv.ts';
import { modulate } from './modulate.ts';

export interface MtmOffsets {
  /** [N, 2*k*k, H, W] in torchvision's layout: channel 2t is dy and 2t+1 is dx of kernel tap t. */
  readonly offsets: string;
  /** [N, k*k, H, W], 2 * sigmoid(...), in [0, 2]. */
  readonly mask: string;
}

/**
 * AdaptiveModulateConvLayer.get_offsets: a modulated (and demodulated) conv of the input to
 * 3*k*k channels, scaled and shifted, split into offsets and mask. The reference concatenates its
 * "x" and "y" halves and torchvision reads that tensor interleaved, so channel 2t is dy.
 */
export function mtmOffsets(b: Builder, x: string, w: string, o: ModulatedConvOptions): MtmOffsets {
  const { inChannels: I, kernelSize: k, height: H, width: W } = o;
  const kk = k * k;
  const outCh = 3 * kk;
  const raw = b.param('mtm_weight', [outCh, I, k, k], { kind: 'normal', std: 1 });
  const bias = b.param('mtm_bias', [1, outCh, 1, 1], { kind: 'constant', value: 0 });
  const scales = b.param('mtm_scales', [1, outCh, 1, 1], { kind: 'constant', value: 0 });
  const style = dense(b.child('mtm_style'), w, {
    inChannels: o.wDim, outChannels: I, initBias: 1, useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul,
  });
  const weight = modulate(b, b.reshape(raw, [1, outCh, I, kk]), style, {
    inChannels: I, demodulate: o.demodulate, eps: o.eps, styleGain: 1 / Math.sqrt(I * kk),
  });
  const p = Math.floor(k / 2);
  const { cols } = im2col(b, x, I, H, W, k, [p, p, p, p]);
  const conv = b.reshape(b.matmul(b.reshape(weight, [0, outCh, I * kk]), cols), [0, outCh, H, W]);
  const offset = b.add(b.mul(conv, scales), bias);
  return {
    offsets: b.slice(offset, [0], [2 * kk], [1]),
    mask: b.scale(b.sigmoid(b.slice(offset, [2 * kk], [3 * kk], [1])), 2),
  };
}

/**
 * torchvision.ops.deform_conv2d's sampling as columns [N, C*k*k, H*W] (stride 1, padding k/2,
 * one offset group per sample): tap t of output (h, w) reads the input bilinearly at
 * (h - p + i + dy_t, w - p + j + dx_t), zero outside, times the mask. GridSample does the
 * bilinear read on every runtime; align_corners maps pixel centres exactly.
 */
export function deformableColumns(
  b: Builder,
  x: string,
  m: MtmOffsets,
  s: { channels: number; height: number; width: number; kernelSize: number },
): string {
  const { channels: C, height: H, width: W, kernelSize: k } = s;
  const kk = k * k;
  const p = Math.floor(k / 2);
  const baseY = new Float32Array(kk * H * W);
  const baseX = new Float32Array(kk * H * W);
  for (let t = 0; t < kk; t++) {
    const i = Math.floor(t / k);
    const j = t % k;
    for (let h = 0; h < H; h++) {
      for (let ww = 0; ww < W; ww++) {
        baseY[(t * H + h) * W + ww] = h - p + i;
        baseX[(t * H + h) * W + ww] = ww - p + j;
      }
    }
  }
  const dy = b.slice(m.offsets, [0], [2 * kk], [1], [2]);
  const dx = b.slice(m.offsets, [1], [2 * kk], [1], [2]);
  const py = b.add(dy, b.f32(baseY, [1, kk, H, W]));
  const px = b.add(dx, b.f32(baseX, [1, kk, H, W]));
  // Normalised coordinates for align_corners=True: -1 is pixel 0 and +1 is pixel size-1.
  const gy = b.sub(b.scale(py, 2 / Math.max(H - 1, 1)), b.f32(1));
  const gx = b.sub(b.scale(px, 2 / Math.max(W - 1, 1)), b.f32(1));
  const grid = b.concat([b.unsqueeze(gx, [4]), b.unsqueeze(gy, [4])], 4); // [N, kk, H, W, 2]
  const sampled = b.op('GridSample', [x, b.reshape(grid, [0, kk * H, W, 2])], {
    mode: attr.string('bilinear'),
    padding_mode: attr.string('zeros'),
    align_corners: attr.int(1),
  }); // [N, C, kk*H, W]
  const masked = b.mul(b.reshape(sampled, [0, C, kk, H, W]), b.unsqueeze(m.mask, [1]));
  return b.reshape(masked, [0, C * kk, H * W]);
}
