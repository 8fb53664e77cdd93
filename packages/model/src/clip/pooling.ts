import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

/**
 * The EOT position of each prompt, argmax(token_ids) as encode_text takes it (EOT 49407 is the
 * largest id; ties resolve to the first index, as in torch). ids [N, T] int64 -> [N] int64.
 * The ids become floats through a Gather on a [vocab] table (exact: ids are below 2^24) before
 * the ArgMax: GPU providers have no int64 ArgMax and would run it on the CPU.
 */
export function eotIndex(b: Builder, tokenIds: string, vocabSize: number, label?: string): string {
  const ids = b.op('Gather', [b.f32(Array.from({ length: vocabSize }, (_, i) => i), [vocabSize]), tokenIds], { axis: attr.int(0) });
  return b.op('ArgMax', [ids], { axis: attr.int(1), keepdims: attr.int(0), select_last_index: attr.int(0) }, label);
}

/** Row eot[n] of x [N, T, C] for each n -> [N, C]; eot [N] int64. */
export function gatherRows(b: Builder, x: string, eot: string, tokens: number, channels: number): string {
  // The index is expanded as a float and cast last: GPU providers have no int64 Expand.
  const position = b.op('Gather', [b.f32(Array.from({ length: tokens }, (_, i) => i), [tokens]), eot], { axis: attr.int(0) }); // [N]
  const index = b.op('Cast', [b.op('Expand', [b.reshape(position, [-1, 1, 1]), b.i64([1, 1, channels])])], { to: attr.int(7) }); // [N, 1, C]
  return b.reshape(b.op('GatherElements', [x, index], { axis: attr.int(1) }), [-1, channels]);
}

/** F.normalize(x, dim=-1): x / max(||x||_2, 1e-12) over the last axis of [N, C]. */
export function l2Normalize(b: Builder, x: string): string {
  const norm = b.sqrt(b.reduceSum(b.square(x), [-1]));
  return b.div(x, b.op('Max', [norm, b.f32(1e-12)]));
}
