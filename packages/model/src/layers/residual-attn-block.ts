import type { Builder } from '../onnx/builder.ts';
import { attentionBlock, type AttentionBlockOptions } from './attention-block.ts';
import { conv } from './conv.ts';
import { groupNorm } from './norm.ts';

export interface ResidualAttnBlockOptions extends Omit<AttentionBlockOptions, 'channels'> {
  readonly inChannels: number;
  readonly depth: number;
  readonly attnGain: number;
  readonly groups: number;
  /** conv_clamp for proj_in and proj_out. */
  readonly clamp: number | null;
}

/** ResidualAttnBlock: GroupNorm -> 1x1 proj_in -> AttentionBlocks -> 1x1 proj_out, residual times attn_gain. */
export function residualAttnBlock(b: Builder, x: string, w: string, context: string, o: ResidualAttnBlockOptions): string {
  const { inChannels: C, height: H, width: W } = o;
  const inner = o.numHeads * o.headDim;
  const lin = { useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul, kernelSize: 1, height: H, width: W, clamp: o.clamp };
  let h = groupNorm(b.child('norm'), x, o.groups, C, H, W);
  h = conv(b.child('proj_in'), h, { ...lin, inChannels: C, outChannels: inner });
  for (let i = 0; i < o.depth; i++) {
    h = attentionBlock(b.child('attn_blocks').child(i), h, w, context, { ...o, channels: inner });
  }
  h = conv(b.child('proj_out'), h, { ...lin, inChannels: inner, outChannels: C });
  return b.scale(b.add(x, h), o.attnGain);
}
