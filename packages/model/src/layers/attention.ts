import type { Builder } from '../onnx/builder.ts';

export interface AttentionMath {
  readonly numHeads: number;
  readonly headDim: number;
  readonly l2: boolean;
  readonly scaleIn: boolean;
  /**
   * Token counts, when the caller knows them: large attention maps are then computed in blocks
   * of query rows. Self-attention passes its grid (`height` x `width` queries and keys),
   * cross-attention `tokens` queries and `contextTokens` keys. Without them nothing is blocked.
   */
  readonly height?: number;
  readonly width?: number;
  readonly tokens?: number;
  readonly contextTokens?: number;
}

/**
 * Attention maps are computed in blocks of query rows so that one block's logits, per sample, stay
 * near this size. Every pass over the map (matmul, clamp, sqrt, scale, softmax, matmul) then runs
 * on cache-resident data instead of streaming an [N*h, T, T] tensor through memory five times,
 * and peak memory drops by the number of blocks. Results are bit-identical (rows are independent).
 * Measured on aurora-tiny's 32x32 self-attention (4 heads, 16 MB of logits per sample).
 */
export const ATTENTION_BLOCK_BYTES = { perSample: 1 << 20, maxBlocks: 16 };

function blocks(m: AttentionMath): { queries: number; count: number } | null {
  const queries = m.tokens ?? (m.height !== undefined && m.width !== undefined ? m.height * m.width : undefined);
  const keys = m.contextTokens ?? queries;
  if (queries === undefined || keys === undefined) return null;
  const bytes = m.numHeads * queries * keys * 4;
  const count = Math.min(Math.ceil(bytes / ATTENTION_BLOCK_BYTES.perSample), ATTENTION_BLOCK_BYTES.maxBlocks, queries);
  return count > 1 ? { queries, count } : null;
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
  let left: string;
  let right: string;
  let logits: (product: string) => string;
  if (m.l2) {
    // torch's cdist formula as ONE matmul of augmented rows: [-2q, |q|^2, 1] . [k, 1, |k|^2].
    const ones = (t: string) => b.add(b.mul(b.reduceSum(t, [2]), b.f32(0)), b.f32(1));
    const qq = b.reduceSum(b.square(qs), [2]); // [Bh, T, 1]
    const kk = b.reduceSum(b.square(ks), [2]); // [Bh, S, 1]
    left = b.concat([b.scale(qs, -2), qq, ones(qs)], 2);
    right = b.transpose(b.concat([ks, ones(ks), kk], 2), [0, 2, 1]);
    logits = (d2) => b.scale(b.sqrt(b.relu(d2)), m.scaleIn ? -1 : -scale);
  } else {
    left = qs;
    right = b.transpose(ks, [0, 2, 1]);
    logits = (qk) => (m.scaleIn ? qk : b.scale(qk, scale));
  }
  const attend = (rows: string) => b.matmul(b.softmax(logits(b.matmul(rows, right)), 2), v);
  const split = blocks(m);
  if (!split) return attend(left);
  const { queries: T, count } = split;
  const size = Math.ceil(T / count);
  const parts: string[] = [];
  for (let start = 0; start < T; start += size) parts.push(attend(b.slice(left, [start], [Math.min(start + size, T)], [1])));
  return b.concat(parts, 1);
}

/** 'b x (h d) -> (b h) x d' */
export function splitHeads(b: Builder, x: string, tokens: number, heads: number, dim: number): string {
  return b.reshape(b.transpose(b.reshape(x, [0, tokens, heads, dim]), [0, 2, 1, 3]), [-1, tokens, dim]);
}

/** '(b h) x d -> b x (h d)' */
export function mergeHeads(b: Builder, x: string, tokens: number, heads: number, dim: number): string {
  return b.reshape(b.transpose(b.reshape(x, [-1, heads, tokens, dim]), [0, 2, 1, 3]), [-1, tokens, heads * dim]);
}
