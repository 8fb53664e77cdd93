import type { Builder } from '../onnx/builder.ts';

export interface AttentionMath {
  readonly numHeads: number;
  readonly headDim: number;
  readonly l2: boolean;
  readonly scaleIn: boolean;
}

/**
 * QKVAttention on per-head tensors q [B*h, T, d], k, v [B*h, S, d]. The L2 variant uses
 * -cdist(q, k), which torch computes (for more than 25 rows, always true here) as
 * sqrt(clamp(|q|^2 + |k|^2 - 2 q.k, 0)); with scale_in the inputs are scaled, else the logits.
 */
export function qkvAttention(b: Builder, q: string, k: string, v: string, m: AttentionMath): string {
  const scale = m.headDim ** -0.5;
  let qs = q;
  let ks = k;
  if (m.scaleIn) {
    qs = b.scale(q, scale);
    ks = b.scale(k, scale);
  }
  let logits: string;
  if (m.l2) {
    // torch's cdist formula as ONE matmul of augmented rows: [-2q, |q|^2, 1] . [k, 1, |k|^2].
    const ones = (t: string) => b.add(b.mul(b.reduceSum(t, [2]), b.f32(0)), b.f32(1));
    const qq = b.reduceSum(b.square(qs), [2]); // [Bh, T, 1]
    const kk = b.reduceSum(b.square(ks), [2]); // [Bh, S, 1]
    const qAug = b.concat([b.scale(qs, -2), qq, ones(qs)], 2);
    const kAug = b.concat([ks, ones(ks), kk], 2);
    const d2 = b.matmul(qAug, b.transpose(kAug, [0, 2, 1]));
    const dist = b.sqrt(b.relu(d2));
    logits = b.scale(dist, m.scaleIn ? -1 : -scale);
  } else {
    logits = b.matmul(qs, b.transpose(ks, [0, 2, 1]));
    if (!m.scaleIn) logits = b.scale(logits, scale);
  }
  return b.matmul(b.softmax(logits, 2), v);
}

/** 'b x (h d) -> (b h) x d' */
export function splitHeads(b: Builder, x: string, tokens: number, heads: number, dim: number): string {
  return b.reshape(b.transpose(b.reshape(x, [0, tokens, heads, dim]), [0, 2, 1, 3]), [-1, tokens, dim]);
}

/** '(b h) x d -> b x (h d)' */
export function mergeHeads(b: Builder, x: string, tokens: number, heads: number, dim: number): string {
  return b.reshape(b.transpose(b.reshape(x, [-1, heads, tokens, dim]), [0, 2, 1, 3]), [-1, tokens, heads * dim]);
}
