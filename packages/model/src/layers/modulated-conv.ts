import type { Builder } from '../onnx/builder.ts';
import { applyActivation, type Activation } from './activation.ts';
import { dense } from './dense.ts';
import { modulate } from './modulate.ts';
import { im2col } from './im2col.ts';
import { deformableColumns, mtmOffsets } from './mtm.ts';
import { filterBuffer, firFilter, zeroUpsample } from './upfirdn.ts';

export interface ModulatedConvOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly wDim: number;
  readonly kernelSize: number;
  readonly numKernels: number;
  readonly addBias?: boolean;
  readonly upsample?: boolean;
  readonly filterKernel?: readonly number[];
  readonly demodulate: boolean;
  readonly useWscale?: boolean;
  readonly wscaleGain?: number;
  readonly lrMul?: number;
  readonly activation: Activation;
  readonly eps: number;
  readonly mtm?: boolean;
  /** Spatial size of the input feature map. */
  readonly height: number;
  readonly width: number;
}

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
