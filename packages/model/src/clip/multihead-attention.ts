import type { Builder } from '../onnx/builder.ts';
import { mergeHeads, splitHeads } from '../layers/attention.ts';
import { linear } from './linear.ts';

export interface MultiheadAttentionOptions {
  readonly width: number;
  readonly heads: number;
  readonly tokens: number;
  /** Additive mask broadcastable to [N*heads, T, T] (the causal mask). */
  readonly mask: string;
  /** Init std of the packed q/k/v projection without a checkpoint. */
  readonly inStd: number;
  /** Init std of out_proj without a checkpoint. */
  readonly outStd: number;
}

/**
 * nn.MultiheadAttention self-attention on x [N, T, W], as torch 1.13's slow path (the one the
 * reference takes: batch_first is False) computes it: one packed projection with
 * `in_proj_weight` [3W, W] / `in_proj_bias` [3W] split into q, k, v; heads take consecutive
 * W/h channels; q / sqrt(d); baddbmm(mask, q, k^T); softmax; @ v; then `out_proj`.
 */
export function multiheadAttention(b: Builder, x: string, o: MultiheadAttentionOptions): string {
  const { width: W, heads: h, tokens: T } = o;
  const d = W / h;
  const inWeight = b.param('in_proj_weight', [3 * W, W], { kind: 'normal', std: o.inStd });
  const inBias = b.param('in_proj_bias', [3 * W], { kind: 'constant', value: 0 });
  const qkv = b.add(b.matmul(x, b.transpose(inWeight, [1, 0])), inBias); // [N, T, 3W]
  const [q, k, v] = b.chunk(qkv, 3, 3 * W, 2).map((t) => splitHeads(b, t, T, h, d)); // [N*h, T, d]
  // torch divides by the float32 of sqrt(d); multiplying by d^-0.5 would differ in the last bit.
  const qs = b.div(q, b.f32(Math.sqrt(d)));
  const logits = b.add(b.matmul(qs, b.transpose(k, [0, 2, 1])), o.mask); // [N*h, T, T]
  const attended = mergeHeads(b, b.matmul(b.softmax(logits, 2), v), T, h, d); // [N, T, W]
  return linear(b.child('out_proj'), attended, W, W, o.outStd);
}
