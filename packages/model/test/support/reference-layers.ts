/**
 * The straightforward formulations of the optimised layers (zero insertion + im2col for the
 * upsampling conv, FIR as a Conv over [N*C, 1, H, W] planes, GridSample for MTM, demodulation in
 * six passes): the reference that test/layers-differential.test.ts compares the fast paths with.
 * Each op reads as the PyTorch reference does, so a fast path that drifts shows up; the model
 * never uses them.
 */
import { applyActivation } from '../../src/layers/activation.ts';
import { dense } from '../../src/layers/dense.ts';
import { im2col } from '../../src/layers/im2col.ts';
import type { ModulatedConvOptions } from '../../src/layers/modulated-conv.ts';
import { filterBuffer } from '../../src/layers/upfirdn.ts';
import type { Builder } from '../../src/onnx/builder.ts';
import { attr } from '../../src/onnx/graph.ts';

// Both formulations declare the filter buffer the same way (it is the checkpoint's state).
export { filterBuffer };

/**
 * The per-sample convolution weight of AdaptiveModulateConvLayer, shaped [N, O, I, k*k]:
 * softmax-mixed kernels, then modulation by the style and (optionally) demodulation.
 */
export function modulatedWeight(b: Builder, w: string, o: ModulatedConvOptions): string {
  const { inChannels: I, outChannels: O, kernelSize: k, numKernels: K } = o;
  const kk = k * k;
  const lrMul = o.lrMul ?? 1;
  const useWscale = o.useWscale ?? true;
  const wscale = (o.wscaleGain ?? 1) / Math.sqrt(kk * I);
  const common = { useWscale, wscaleGain: o.wscaleGain, lrMul, activation: 'linear' as const };
  const raw = b.param('weight', [K, O, I, k, k], { kind: 'normal', std: useWscale ? 1 / lrMul : wscale / lrMul });
  let weight: string;
  if (K > 1) {
    const mix = b.softmax(dense(b.child('filter_weight'), w, { ...common, inChannels: o.wDim, outChannels: K, initBias: 1 }), 1);
    weight = b.reshape(b.matmul(mix, b.reshape(raw, [K, O * I * kk])), [0, O, I, kk]);
  } else {
    weight = b.reshape(raw, [1, O, I, kk]);
  }
  const style = dense(b.child('style'), w, { ...common, inChannels: o.wDim, outChannels: I, initBias: 1 });
  return modulate(b, weight, style, { inChannels: I, demodulate: o.demodulate, eps: o.eps, styleGain: useWscale ? wscale * lrMul : lrMul });
}

/** AdaptiveModulateConvLayer.forward: returns the activated output [N, O, Ho, Wo]. */
export function modulatedConv(b: Builder, x: string, w: string, o: ModulatedConvOptions): { y: string; height: number; width: number } {
  const { inChannels: I, outChannels: O, kernelSize: k, height: H, width: W } = o;
  const offsets = o.mtm ? mtmOffsets(b, x, w, o) : null;
  const weight = modulatedWeight(b, w, o); // [N, O, I, k*k]
  let y: string;
  let outH = H;
  let outW = W;
  if (!o.upsample) {
    const p = Math.floor(k / 2);
    const cols = offsets
      ? deformableColumns(b, x, offsets, { channels: I, height: H, width: W, kernelSize: k })
      : im2col(b, x, I, H, W, k, [p, p, p, p]).cols;
    y = b.reshape(b.matmul(b.reshape(weight, [0, O, I * k * k]), cols), [0, O, H, W]);
  } else {
    ({ y, height: outH, width: outW } = upsampledConv(b, x, weight, o));
  }
  if (o.addBias ?? true) {
    const lrMul = o.lrMul ?? 1;
    const bias = b.param('bias', [O], { kind: 'constant', value: 0 });
    y = b.add(y, b.reshape(b.scale(bias, lrMul), [O, 1, 1]));
  }
  return { y: applyActivation(b, y, o.activation), height: outH, width: outW };
}

/**
 * The StyleGAN2 upsampling path: a stride-2 transposed convolution (written as zero insertion
 * plus a convolution with the spatially flipped kernel), then the [1,3,3,1] FIR with gain 4.
 */
function upsampledConv(b: Builder, x: string, weight: string, o: ModulatedConvOptions): { y: string; height: number; width: number } {
  const { inChannels: I, outChannels: O, kernelSize: k, height: H, width: W } = o;
  const up = 2;
  const filter = filterBuffer(b, o.filterKernel ?? [1, 3, 3, 1]);
  const f = filter.size;
  // filter_padding, then the reference's adjustment for the transposed conv.
  const px0 = Math.floor(k / 2) + Math.floor((f + up - 1) / 2) - (k - 1);
  const px1 = Math.floor(k / 2) + Math.floor((f - up) / 2) - (k - up);
  if (k === 1) {
    const cols = b.reshape(x, [0, I, H * W]);
    const conv = b.reshape(b.matmul(b.reshape(weight, [0, O, I]), cols), [0, O, H, W]);
    const p0 = Math.floor(k / 2) + Math.floor((f + up - 1) / 2);
    const p1 = Math.floor(k / 2) + Math.floor((f - up) / 2);
    const z = zeroUpsample(b, conv, O, H, W, up);
    return { y: firFilter(b, z, filter, O, H * up, W * up, [p0, p1, p0, p1], up * up), height: H * up, width: W * up };
  }
  const pt = Math.max(Math.min(-px0, -px1), 0);
  // Zero insertion leaves one trailing zero row/column; a full correlation pads k-1 on each side.
  const z = zeroUpsample(b, x, I, H, W, up);
  const lead = k - 1 - pt;
  const trail = k - 1 - pt - (up - 1);
  const { cols, outH, outW } = im2col(b, z, I, H * up, W * up, k, [lead, trail, lead, trail]);
  const flipped = b.slice(b.reshape(weight, [0, O, I, k, k]), [-1, -1], [-(2 ** 62), -(2 ** 62)], [3, 4], [-1, -1]);
  const conv = b.reshape(b.matmul(b.reshape(flipped, [0, O, I * k * k]), cols), [0, O, outH, outW]);
  const pad: [number, number, number, number] = [px0 + pt, px1 + pt, px0 + pt, px1 + pt];
  const y = firFilter(b, conv, filter, O, outH, outW, pad, up * up);
  return { y, height: outH + pad[0] + pad[1] - f + 1, width: outW + pad[2] + pad[3] - f + 1 };
}


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


/**
 * Modulates [B, O, I, k*k] weights (B = 1 or N) by a [N, I] style. With demodulation the weight
 * is first RMS-normalised per output channel and the style per sample (the reference normalises
 * the style over the whole batch; demodulation cancels that except through eps, and per sample is
 * what the official batch-1 inference computes); without it the style carries the weight scale.
 */
export function modulate(
  b: Builder,
  weight: string,
  style: string,
  o: { inChannels: number; demodulate: boolean; eps: number; styleGain: number },
): string {
  let wt = weight;
  let s = style;
  if (o.demodulate) {
    wt = b.mul(wt, b.rsqrt(b.reduceMean(b.square(wt), [2, 3])));
    s = b.mul(s, b.rsqrt(b.reduceMean(b.square(s), [1])));
  } else {
    s = b.scale(s, o.styleGain);
  }
  wt = b.mul(wt, b.reshape(s, [0, 1, o.inChannels, 1]));
  if (o.demodulate) {
    wt = b.mul(wt, b.rsqrt(b.add(b.reduceSum(b.square(wt), [2, 3]), b.f32(o.eps))));
  }
  return wt;
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
