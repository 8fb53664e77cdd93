import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

/**
 * The EOT position of each prompt, argmax(token_ids) as encode_text takes it (EOT 49407 is the
 * largest id; ties resolve to the first index, as in torch). ids [N, T] int64 -> [N, 1] int64.
 * onnxruntime's CPU and WASM ArgMax take int64 directly (checked with 1.30); an execution
 * provider without an int64 kernel falls back to CPU for this one small node.
 */
export function eotIndex(b: Builder, tokenIds: string): string {
  return b.op('ArgMax', [tokenIds], { axis: attr.int(1), keepdims: attr.int(1), select_last_index: attr.int(0) });
}

/** Row eot[n] of x [N, T, C] for each n -> [N, C]. */
export function gatherRows(b: Builder, x: string, eot: string, channels: number): string {
  const index = b.op('Expand', [b.unsqueeze(eot, [2]), b.i64([1, 1, channels])]); // [N, 1, C]
  return b.squeeze(b.op('GatherElements', [x, index], { axis: attr.int(1) }), [1]);
}

/** F.normalize(x, dim=-1): x / max(||x||_2, 1e-12) over the last axis of [N, C]. */
export function l2Normalize(b: Builder, x: string): string {
  const norm = b.sqrt(b.reduceSum(b.square(x), [-1]));
  return b.div(x, b.op('Max', [norm, b.f32(1e-12)]));
}
