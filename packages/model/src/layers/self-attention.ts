import type { Builder } from '../onnx/builder.ts';
import { type AttentionMath, mergeHeads, qkvAttention, splitHeads } from './attention.ts';
import { dense } from './dense.ts';
import { modulatedConv } from './modulated-conv.ts';

export interface SelfAttentionOptions extends AttentionMath {
  readonly channels: number;
  readonly wDim: number;
  readonly tie: boolean;
  readonly demodulate: boolean;
  readonly useWscale: boolean;
  readonly wscaleGain: number;
  readonly lrMul: number;
  readonly eps: number;
  readonly height: number;
  readonly width: number;
}

/**
 * SelfAttentionLayer on [N, C, H, W]. The per-head split follows the reference exactly: the L2
 * variant's `to_qk` output is split into heads first and each head's slice holds q then k.
 */
export function selfAttention(b: Builder, x: string, w: string, o: SelfAttentionOptions): string {
  const { channels: C, numHeads: h, height: H, width: W } = o;
  const T = H * W;
  const d = C / h;
  const lin = { useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul, addBias: false };
  const tokens = b.transpose(b.reshape(x, [0, C, T]), [0, 2, 1]); // [N, T, C]
  let q: string;
  let k: string;
  let v: string;
  if (o.l2) {
    const qkDim = o.tie ? C : 2 * C;
    const qk = splitHeads(b, dense(b.child('to_qk'), tokens, { ...lin, inChannels: C, outChannels: qkDim }), T, h, qkDim / h);
    v = splitHeads(b, dense(b.child('to_v'), tokens, { ...lin, inChannels: C, outChannels: C }), T, h, d);
    if (o.tie) {
      q = qk;
      k = qk;
    } else {
      [q, k] = b.chunk(qk, 2, 2 * d, 2);
    }
  } else {
    const qkv = splitHeads(b, dense(b.child('to_qkv'), tokens, { ...lin, inChannels: C, outChannels: 3 * C }), T, h, 3 * d);
    [q, k, v] = b.chunk(qkv, 3, 3 * d, 2);
  }
  const attended = mergeHeads(b, qkvAttention(b, q, k, v, { ...o, headDim: d }), T, h, d); // [N, T, C]
  const feature = b.reshape(b.transpose(attended, [0, 2, 1]), [0, C, H, W]);
  return modulatedConv(b.child('proj_out'), feature, w, {
    inChannels: C, outChannels: C, wDim: o.wDim, kernelSize: 1, numKernels: 1, addBias: true,
    demodulate: o.demodulate, useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul,
    activation: 'linear', eps: o.eps, height: H, width: W,
  }).y;
}
