import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';
import { quickGelu } from '../layers/activation.ts';
import { dense, denseParams } from '../layers/dense.ts';
import { layerNorm } from '../layers/norm.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';

/**
 * One text-head ResidualAttentionBlock as the official (batch-1) inference computes it. The
 * reference attends over the batch axis (quirk 1): with one prompt the softmax has a single
 * element, so attention returns v and q/k never matter. Computing that per prompt keeps a
 * batch from changing any image.
 */
function textBlock(b: Builder, x: string, c: GeneratorConfig, width: number): string {
  const lin = { useWscale: c.text_use_wscale, wscaleGain: c.text_wscale_gain, lrMul: c.text_lr_mul, addBias: true, initBias: 0 };
  const gain = c.text_head_gain;
  const qkv = denseParams(b.child('attn').child('to_qkv'), { ...lin, inChannels: width, outChannels: 3 * width });
  const vWeight = b.slice(qkv.weight, [2 * width], [3 * width], [0]);
  let v = b.matmul(layerNorm(b.child('ln_1'), x, width), b.transpose(vWeight, [1, 0]));
  if (qkv.bias) v = b.add(v, b.slice(qkv.bias, [2 * width], [3 * width], [0]));
  const attn = dense(b.child('attn').child('to_out').child(0), v, { ...lin, inChannels: width, outChannels: width });
  let h = b.scale(b.add(x, attn), gain);
  const fc = dense(b.child('c_fc'), layerNorm(b.child('ln_2'), h, width), { ...lin, inChannels: width, outChannels: 4 * width, aliases: [b.key('mlp.c_fc')] });
  const proj = dense(b.child('c_proj'), quickGelu(b, fc), { ...lin, inChannels: 4 * width, outChannels: width, aliases: [b.key('mlp.c_proj')] });
  h = b.scale(b.add(h, proj), gain);
  return h;
}

/**
 * TextHead: align CLIP features to context_dim, run the trainable transformer, then split the
 * EOT row (global text) from the other 76 rows (local text, padding rows included: quirk 3).
 */
export function textHead(b: Builder, clipTokens: string, eotIndex: string, c: GeneratorConfig, tokens: number): { global: string; local: string } {
  const C = c.context_dim;
  let x = clipTokens;
  if (c.clip_out_dim !== C) {
    x = dense(b.child('align_dim'), x, {
      inChannels: c.clip_out_dim, outChannels: C, initBias: 1, useWscale: c.text_use_wscale, wscaleGain: c.text_wscale_gain, lrMul: c.text_lr_mul,
    });
  }
  for (let i = 0; i < c.num_layers_text_enc; i++) x = textBlock(b.child('transformer').child('res_blocks').child(i), x, c, C);

  // Row indices are computed in float (exact: they are below 77) and cast to int64 only where a
  // gather consumes them: GPU providers have no int64 elementwise kernels, and int64 arithmetic
  // would run on the CPU between GPU ops. The EOT row as a float, by a Gather on the int64 input:
  const positions = b.f32(Array.from({ length: tokens }, (_, i) => i), [tokens]);
  const eot = b.reshape(b.op('Gather', [positions, eotIndex], { axis: attr.int(0) }), [-1, 1]); // [N, 1]
  const rowIndex = (rows: string) => b.op('Cast', [b.op('Expand', [b.unsqueeze(rows, [2]), b.i64([1, 1, C])])], { to: attr.int(7) });
  const global = b.op('GatherElements', [x, rowIndex(eot)], { axis: attr.int(1) });
  // Local row r reads row r, or r+1 once past the EOT row.
  const rows = b.f32(Array.from({ length: tokens - 1 }, (_, i) => i), [1, tokens - 1]);
  const skip = b.op('Cast', [b.op('GreaterOrEqual', [rows, eot])], { to: attr.int(1) });
  const local = b.op('GatherElements', [x, rowIndex(b.add(rows, skip))], { axis: attr.int(1) }); // [N, 76, C]
  return { global: b.squeeze(global, [1]), local };
}
