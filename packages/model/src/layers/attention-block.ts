import type { Builder } from '../onnx/builder.ts';
import { crossAttention } from './cross-attention.ts';
import { dense } from './dense.ts';
import { feedForward, type MoeMode } from './feed-forward.ts';
import { layerNorm } from './norm.ts';
import { type SelfAttentionOptions, selfAttention } from './self-attention.ts';

/** The self-attention's options (channels, heads, modulation, grid) and what the rest of the block needs. */
export interface AttentionBlockOptions extends SelfAttentionOptions {
  readonly contextDim: number;
  readonly contextTokens: number;
  readonly includeFf: boolean;
  /** use_w_cond: w, projected to context_dim, joins the local text as one more context token. */
  readonly useWCond: boolean;
  readonly glu: boolean;
  readonly numExperts: number;
  /** The MoE formulation (FeedForwardOptions.moe); the default is sparse. */
  readonly moe?: MoeMode;
}

/** AttentionBlock on [N, C, H, W]: self-attention, cross-attention to the local text, then the FFN/MoE. */
export function attentionBlock(b: Builder, x: string, w: string, context: string, o: AttentionBlockOptions): string {
  const { channels: C, height: H, width: W } = o;
  const T = H * W;
  const common = { useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul };
  const tokens = (t: string) => b.transpose(b.reshape(t, [0, C, T]), [0, 2, 1]);
  const grid = (t: string) => b.reshape(b.transpose(t, [0, 2, 1]), [0, C, H, W]);

  const normed = grid(layerNorm(b.child('norm1'), tokens(x), C));
  const attended = selfAttention(b.child('self_attn'), normed, w, {
    ...common, channels: C, numHeads: o.numHeads, headDim: o.headDim, wDim: o.wDim, l2: o.l2, tie: o.tie,
    scaleIn: o.scaleIn, demodulate: o.demodulate, eps: o.eps, height: H, width: W,
  });
  let h = tokens(b.add(attended, x));
  let keys = context;
  let keyCount = o.contextTokens;
  if (o.useWCond) {
    const wToken = dense(b.child('align_dim'), w, { ...common, inChannels: o.wDim, outChannels: o.contextDim, initBias: 1 });
    keys = b.concat([context, b.unsqueeze(wToken, [1])], 1);
    keyCount += 1;
  }
  const cross = crossAttention(b.child('cross_attn'), layerNorm(b.child('norm2'), h, C), keys, {
    ...common, numHeads: o.numHeads, headDim: o.headDim, l2: o.l2, scaleIn: o.scaleIn, queryDim: C,
    contextDim: o.contextDim, contextTokens: keyCount, tokens: T,
  });
  h = b.add(cross, h);
  if (o.includeFf) {
    const ff = feedForward(b.child('ff'), layerNorm(b.child('norm3'), h, C), w, {
      ...common, channels: C, mlpRatio: 4, glu: o.glu, numExperts: o.numExperts, wDim: o.wDim, height: H, width: W, moe: o.moe,
    });
    h = b.add(ff, h);
  }
  return grid(h);
}
