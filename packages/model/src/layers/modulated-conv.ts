import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';
import { applyActivation, type Activation } from './activation.ts';
import { dense } from './dense.ts';
import { modulation } from './modulate.ts';
import { im2col } from './im2col.ts';
import { deformableConv, mtmOffsets } from './mtm.ts';
import { filterBuffer, firFilter, stridedTransposedConv } from './upfirdn.ts';

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
  /** conv_clamp: clamp the activated output to [-clamp, clamp]; null/undefined for none. */
  readonly clamp?: number | null;
  readonly eps: number;
  readonly mtm?: boolean;
  /** Spatial size of the input feature map. */
  readonly height: number;
  readonly width: number;
}

/**
 * The (unmodulated) kernel of AdaptiveModulateConvLayer, [B, O, I, k*k]: the static [1, ...]
 * weight with one kernel, or the per-sample softmax mix of the K kernels, [N, ...].
 */
function mixedWeight(b: Builder, w: string, o: ModulatedConvOptions): { weight: string; perSample: boolean } {
  const { inChannels: I, outChannels: O, kernelSize: k, numKernels: K } = o;
  const kk = k * k;
  const lrMul = o.lrMul ?? 1;
  const useWscale = o.useWscale ?? true;
  const wscale = (o.wscaleGain ?? 1) / Math.sqrt(kk * I);
  const raw = b.param('weight', [K, O, I, k, k], { kind: 'normal', std: useWscale ? 1 / lrMul : wscale / lrMul });
  if (K === 1) return { weight: b.reshape(raw, [1, O, I, kk]), perSample: false };
  const common = { useWscale, wscaleGain: o.wscaleGain, lrMul, activation: 'linear' as const };
  const mix = b.softmax(dense(b.child('filter_weight'), w, { ...common, inChannels: o.wDim, outChannels: K, initBias: 1 }), 1);
  return { weight: b.reshape(b.matmul(mix, b.reshape(raw, [K, O * I * kk])), [0, O, I, kk]), perSample: true };
}

/** The style dense layer and the modulation factors (see `modulation`). */
function styleFactors(b: Builder, w: string, weight: string, o: ModulatedConvOptions): { style: string; demod: string | null } {
  const { inChannels: I, kernelSize: k } = o;
  const lrMul = o.lrMul ?? 1;
  const useWscale = o.useWscale ?? true;
  const wscale = (o.wscaleGain ?? 1) / Math.sqrt(k * k * I);
  const style = dense(b.child('style'), w, { useWscale, wscaleGain: o.wscaleGain, lrMul, activation: 'linear', inChannels: o.wDim, outChannels: I, initBias: 1 });
  return modulation(b, weight, style, { inChannels: I, taps: k * k, demodulate: o.demodulate, eps: o.eps, styleGain: useWscale ? wscale * lrMul : lrMul });
}

/**
 * AdaptiveModulateConvLayer.forward: returns the activated output [N, O, Ho, Wo].
 *
 * The modulation is applied to the activations, conv(x, w') = demod * conv(style * x, w), so a
 * layer with one kernel is a plain Conv (or ConvTranspose) with its static weight, which every
 * runtime runs on its fastest path and batches for free; with K kernels the per-sample mix is the
 * only per-sample weight. Either way no [N, O, I, k*k] weight is rewritten per image.
 */
export function modulatedConv(b: Builder, x: string, w: string, o: ModulatedConvOptions): { y: string; height: number; width: number } {
  const { inChannels: I, outChannels: O, kernelSize: k, height: H, width: W } = o;
  const offsets = o.mtm ? mtmOffsets(b, x, w, o) : null;
  const { weight, perSample } = mixedWeight(b, w, o); // [B, O, I, k*k]
  const { style, demod } = styleFactors(b, w, weight, o);
  const xs = b.mul(x, b.reshape(style, [0, I, 1, 1]));
  let y: string;
  let outH = H;
  let outW = W;
  const p = Math.floor(k / 2);
  if (o.upsample) {
    // As in the original port, the upsampling path does not sample with MTM offsets.
    ({ y, height: outH, width: outW } = upsampledConv(b, xs, weight, perSample, o));
  } else if (offsets) {
    y = deformableConv(b, xs, offsets, weight, { channels: I, outChannels: O, height: H, width: W, kernelSize: k, perSample });
  } else if (!perSample) {
    y = b.op('Conv', [xs, b.reshape(weight, [O, I, k, k])], { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]) });
  } else {
    const { cols } = im2col(b, xs, I, H, W, k, [p, p, p, p]);
    y = b.reshape(b.matmul(b.reshape(weight, [0, O, I * k * k]), cols), [0, O, H, W]);
  }
  if (demod) y = b.mul(y, b.unsqueeze(demod, [2, 3]));
  if (o.addBias ?? true) {
    const lrMul = o.lrMul ?? 1;
    const bias = b.param('bias', [O], { kind: 'constant', value: 0 });
    y = b.add(y, b.reshape(b.scale(bias, lrMul), [O, 1, 1]));
  }
  return { y: applyActivation(b, y, o.activation, o.clamp), height: outH, width: outW };
}

/**
 * The StyleGAN2 upsampling path: a stride-2 transposed convolution with the per-sample kernel,
 * then the FIR (gain 4). The reference writes it as zero insertion plus a kxk correlation on a
 * (2H+k)^2 grid, 3/4 of whose products hit inserted zeros. We compute it exactly instead:
 * 1. U = W'[n] @ x: every kernel tap's contribution of every input pixel, one batched MatMul
 *    [N, O*k*k, I] x [N, I, H*W] with exactly the transposed conv's multiply-adds (no im2col);
 * 2. col2im: a grouped ConvTranspose (stride 2, group = O) with constant one-hot kxk kernels
 *    scatters tap t of pixel i to output 2i + t, giving the full transposed conv T;
 * 3. the FIR as a depthwise Conv on T, the reference's padding folded in.
 * This is the polyphase (sub-pixel) decomposition done by the runtime's col2im: each output
 * phase receives only the taps of its parity. For small maps (<= 8x8) the FIR is folded into the
 * ConvTranspose kernels too (one op, fewer launches).
 */
function upsampledConv(b: Builder, x: string, weight: string, perSample: boolean, o: ModulatedConvOptions): { y: string; height: number; width: number } {
  const { inChannels: I, outChannels: O, kernelSize: k, height: H, width: W } = o;
  const up = 2;
  const kk = k * k;
  const filter = filterBuffer(b, o.filterKernel ?? [1, 3, 3, 1]);
  const f = filter.size;
  // The reference's filter padding on the transposed conv's full output T (length 2(H-1)+k); negative crops.
  const px0 = Math.floor(k / 2) + Math.floor((f + up - 1) / 2) - (k - 1);
  const px1 = Math.floor(k / 2) + Math.floor((f - up) / 2) - (k - up);
  const fullH = up * (H - 1) + k;
  const fullW = up * (W - 1) + k;
  const height = fullH + px0 + px1 - f + 1;
  const width = fullW + px0 + px1 - f + 1;
  if (!perSample) {
    // A static kernel: one ConvTranspose (its weight is [I, O, k, k]), then the FIR.
    const kernel = b.transpose(b.reshape(weight, [O, I, k, k]), [1, 0, 2, 3]);
    const full = stridedTransposedConv(b, x, kernel, 1, k, [0, 0]);
    return { y: firFilter(b, full, filter, O, fullH, fullW, [px0, px1, px0, px1], up * up), height, width };
  }
  const taps = kk === 1 ? weight : b.transpose(weight, [0, 1, 3, 2]); // [N, O, k*k, I]
  const u = b.reshape(b.matmul(b.reshape(taps, [0, O * kk, I]), b.reshape(x, [0, I, H * W])), [0, O * kk, H, W]);
  if (kk === 1 || H * W <= 64) {
    // y[r] = sum_{i,t,j} U_t[i] f[j] [r = 2i + t + j - (f-1-px0)]: kernels f shifted by each tap.
    const kernel = tapKernels(b, k, filter, up * up);
    const kernels = b.reshape(b.op('Expand', [b.unsqueeze(kernel, [0]), b.i64([O, kk, 1, k + f - 1, k + f - 1])]), [O * kk, 1, k + f - 1, k + f - 1]);
    return { y: stridedTransposedConv(b, u, kernels, O, k + f - 1, [f - 1 - px0, f - 1 - px1]), height, width };
  }
  const kernels = b.op('Expand', [b.f32(oneHotTaps(k), [1, kk, k, k]), b.i64([O, kk, k, k])]);
  const full = stridedTransposedConv(b, u, b.reshape(kernels, [O * kk, 1, k, k]), O, k, [0, 0]);
  return { y: firFilter(b, full, filter, O, fullH, fullW, [px0, px1, px0, px1], up * up), height, width };
}

/** [k*k, k, k]: kernel t is one at tap t (row-major), zero elsewhere. */
function oneHotTaps(k: number): Float32Array {
  const kk = k * k;
  const out = new Float32Array(kk * kk);
  for (let t = 0; t < kk; t++) out[t * kk + t] = 1;
  return out;
}

/**
 * [k*k, 1, K, K] with K = k + f - 1: kernel t is the filter (times gain) shifted by tap t, so a
 * stride-2 ConvTranspose with them does col2im and the FIR at once. A constant placement matrix
 * times the `filter` initializer, which runtimes fold at session creation.
 */
function tapKernels(b: Builder, k: number, filter: { name: string; size: number }, gain: number): string {
  const f = filter.size;
  const K = k + f - 1;
  const place = new Float32Array(k * k * K * K * f * f);
  for (let ty = 0; ty < k; ty++) {
    for (let tx = 0; tx < k; tx++) {
      for (let jy = 0; jy < f; jy++) {
        for (let jx = 0; jx < f; jx++) place[(((ty * k + tx) * K + ty + jy) * K + tx + jx) * f * f + jy * f + jx] = 1;
      }
    }
  }
  const flat = b.reshape(b.scale(filter.name, gain), [f * f, 1]);
  return b.reshape(b.matmul(b.f32(place, [k * k * K * K, f * f]), flat), [k * k, 1, K, K]);
}
