import type { Builder } from '../onnx/builder.ts';
import { type AttentionMath, mergeHeads, qkvAttention, splitHeads } from './attention.ts';
import { dense } from './dense.ts';

export interface CrossAttentionOptions extends AttentionMath {
  readonly queryDim: number;
  readonly contextDim: number;
  readonly contextTokens: number;
  readonly tokens: number;
  readonly useWscale: boolean;
  readonly wscaleGain: number;
  readonly lrMul: number;
}

/** CrossAttentionLayer: image tokens [N, T, C] attend to the local text [N, S, context_dim]. */
export function crossAttention(b: Builder, x: string, context: string, o: CrossAttentionOptions): string {
  const { numHeads: h, headDim: d, tokens: T, contextTokens: S } = o;
  const inner = h * d;
  const lin = { useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul, addBias: false };
  const q = splitHeads(b, dense(b.child('to_q'), x, { ...lin, inChannels: o.queryDim, outChannels: inner }), T, h, d);
  const kv = dense(b.child('to_kv'), context, { ...lin, inChannels: o.contextDim, outChannels: 2 * inner });
  const [kFull, vFull] = b.chunk(kv, 2, 2 * inner, 2);
  const k = splitHeads(b, kFull, S, h, d);
  const v = splitHeads(b, vFull, S, h, d);
  const attended = mergeHeads(b, qkvAttention(b, q, k, v, o), T, h, d);
  return dense(b.child('proj_out').child(0), attended, {
    inChannels: inner, outChannels: o.queryDim, addBias: true, useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul,
  });
}
