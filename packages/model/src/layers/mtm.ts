import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';
import { dense } from './dense.ts';
import type { ModulatedConvOptions } from './modulated-conv.ts';
import { modulation } from './modulate.ts';

/** Per-pixel, per-tap sampling parameters, each [N, H*W, k*k] (pixel-major, tap-minor). */
export interface MtmOffsets {
  /** Row offset of kernel tap t at each output pixel (torchvision's channel 2t). */
  readonly dy: string;
  /** Column offset (torchvision's channel 2t+1). */
  readonly dx: string;
  /** 2 * sigmoid(...), in [0, 2]. */
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
  const { style: scale, demod } = modulation(b, b.reshape(raw, [1, outCh, I, kk]), style, {
    inChannels: I, taps: kk, demodulate: o.demodulate, eps: o.eps, styleGain: 1 / Math.sqrt(I * kk),
  });
  // The modulation on the activations (see `modulation`): a plain Conv with the static weight.
  const p = Math.floor(k / 2);
  const xs = b.mul(x, b.reshape(scale, [0, I, 1, 1]));
  let y = b.op('Conv', [xs, raw], { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]) }); // [N, 3kk, H, W]
  if (demod) y = b.mul(y, b.unsqueeze(demod, [2, 3]));
  const conv = b.transpose(b.reshape(y, [0, outCh, H * W]), [0, 2, 1]); // [N, HW, 3kk]
  const offset = b.add(b.mul(conv, b.reshape(scales, [1, 1, outCh])), b.reshape(bias, [1, 1, outCh]));
  return {
    dy: b.slice(offset, [0], [2 * kk], [2], [2]),
    dx: b.slice(offset, [1], [2 * kk], [2], [2]),
    mask: b.scale(b.sigmoid(b.slice(offset, [2 * kk], [3 * kk], [2])), 2),
  };
}

/**
 * The MTM convolution: torchvision.ops.deform_conv2d (stride 1, padding k/2, one offset group)
 * with the per-sample weight. Tap t of output (h, w) reads the input bilinearly at
 * (h - p + i + dy_t, w - p + j + dx_t), zero outside, times the mask; the taps are then mixed by
 * the weight [B, O, C, k*k] (B = N per sample, or 1 for a static weight). Returns [N, O, H, W].
 *
 * The bilinear read is done once per sample point for all channels: the four corner indices and
 * weights (mask and validity folded in) are computed on small [N, 4, H*W, k*k] tensors, then one
 * GatherND pulls whole channel rows of the channels-last input. GridSample would repeat the
 * coordinate arithmetic per channel, which makes it the slowest kernel of the graph (the
 * straightforward form stays in test/support/reference-layers.ts as the differential reference).
 */
export function deformableConv(
  b: Builder,
  x: string,
  m: MtmOffsets,
  weight: string,
  s: { channels: number; outChannels: number; height: number; width: number; kernelSize: number; perSample: boolean },
): string {
  const { channels: C, outChannels: O, height: H, width: W, kernelSize: k } = s;
  const kk = k * k;
  const HW = H * W;
  const p = Math.floor(k / 2);
  const baseY = new Float32Array(HW * kk);
  const baseX = new Float32Array(HW * kk);
  for (let h = 0; h < H; h++) {
    for (let ww = 0; ww < W; ww++) {
      for (let t = 0; t < kk; t++) {
        baseY[(h * W + ww) * kk + t] = h - p + Math.floor(t / k);
        baseX[(h * W + ww) * kk + t] = ww - p + (t % k);
      }
    }
  }
  const py = b.unsqueeze(b.add(m.dy, b.f32(baseY, [1, HW, kk])), [1]); // [N, 1, HW, kk]
  const px = b.unsqueeze(b.add(m.dx, b.f32(baseX, [1, HW, kk])), [1]);
  // Corners (y0 + a, x0 + c) for (a, c) = (0,0), (0,1), (1,0), (1,1); bilinear weight 1 - |p - corner|.
  const yy = b.add(b.op('Floor', [py]), b.f32([0, 0, 1, 1], [1, 4, 1, 1])); // [N, 4, HW, kk]
  const xx = b.add(b.op('Floor', [px]), b.f32([0, 1, 0, 1], [1, 4, 1, 1]));
  const hat = (pos: string, corner: string) => b.sub(b.f32(1), b.op('Abs', [b.sub(pos, corner)]));
  const yc = b.op('Clip', [yy, b.f32(0), b.f32(H - 1)]);
  const xc = b.op('Clip', [xx, b.f32(0), b.f32(W - 1)]);
  const inside = b.op('And', [b.op('Equal', [yc, yy]), b.op('Equal', [xc, xx])]);
  const bilinear = b.mul(b.mul(hat(py, yy), hat(px, xx)), b.unsqueeze(m.mask, [1]));
  const cornerWeight = b.op('Where', [inside, bilinear, b.f32(0)]); // [N, 4, HW, kk]
  // Reshaped while still float: GPU providers have no int64 Reshape (it would run on the CPU).
  const index = b.op('Cast', [b.reshape(b.add(b.mul(yc, b.f32(W)), xc), [0, 4 * HW * kk, 1])], { to: attr.int(7) });
  const rows = b.transpose(b.reshape(x, [0, C, HW]), [0, 2, 1]); // [N, HW, C]
  const gathered = b.op('GatherND', [rows, index], { batch_dims: attr.int(1) }); // [N, 4*HW*kk, C]
  const weighted = b.mul(b.reshape(gathered, [0, 4, HW * kk, C]), b.reshape(cornerWeight, [0, 4, HW * kk, 1]));
  // (A ReduceSum, not a [1, 4] x [N, 4, .] MatMul: broadcast MatMuls round differently per batch size.)
  const cols = b.reshape(b.reduceSum(weighted, [1], false), [0, HW, kk * C]); // [N, HW, (t, c)]
  const lead = s.perSample ? [0] : []; // a static weight [1, ...] becomes a 2-D (folded) constant
  if (HW < O) {
    // Keep the GEMM's row count >= its column count: onnxruntime (MLAS) then splits it across
    // threads by rows, which keeps every sum's order, hence a sample's result, independent of the
    // batch size (split by columns, the K blocking follows the per-thread width).
    const taps = b.reshape(b.transpose(weight, [0, 1, 3, 2]), [...lead, O, kk * C]); // [(N,) O, (t, c)]
    return b.reshape(b.matmul(taps, b.transpose(cols, [0, 2, 1])), [0, O, H, W]);
  }
  const taps = b.reshape(b.transpose(weight, [0, 3, 2, 1]), [...lead, kk * C, O]); // [(N,) (t, c), O]
  return b.reshape(b.transpose(b.matmul(cols, taps), [0, 2, 1]), [0, O, H, W]);
}
