import type { Builder } from '../onnx/builder.ts';

/**
 * CLIP's additive causal mask [T, T]: 0 on and below the diagonal, -inf above it, exactly the
 * reference's build_attention_mask. -inf is safe in Softmax because the diagonal is never masked,
 * so every row keeps a finite maximum and exp(-inf - max) is an exact 0 (no NaN). It is one
 * [T, T] table broadcast over batch and heads: each prompt only ever attends within itself.
 */
export function causalMask(b: Builder, tokens: number): string {
  const values = new Float32Array(tokens * tokens);
  for (let i = 0; i < tokens; i++) for (let j = i + 1; j < tokens; j++) values[i * tokens + j] = -Infinity;
  return b.constTensor('attn_mask', { type: 'float32', dims: [tokens, tokens], data: values });
}
