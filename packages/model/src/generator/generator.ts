import type { GeneratorConfig } from '../config/generator-config.ts';
import { Builder } from '../onnx/builder.ts';
import { Graph } from '../onnx/graph.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import { type ParamProvider, ParamRegistry } from '../onnx/params.ts';
import { outputResolution, synthesisLayout, type SynthesisLayout } from './layout.ts';
import { mapping } from './mapping.ts';
import { synthesis } from './synthesis.ts';
import { textHead } from './text-head.ts';
import { truncate } from './truncation.ts';

/** CLIP's context length: the generator consumes all 77 token features. */
export const TEXT_TOKENS = 77;

export interface BuiltGenerator {
  readonly graph: Graph;
  readonly params: ParamRegistry;
  readonly layout: SynthesisLayout;
}

/**
 * The whole Text2ImageGenerator as one ONNX graph with a dynamic batch. Inputs:
 *   text_tokens [N, 77, clip_out_dim]  CLIP ln_final features of each prompt
 *   eot_index   [N] int64              position of the EOT token (argmax of the token ids)
 *   z           [N, z_dim]             latent codes
 *   trunc_psi   [N]                    truncation strength per sample (1 = none)
 *   trunc_layers [1] int64             number of leading layers truncated
 *   center_z    [N, K, z_dim]          latents whose mean wp is the text-conditional centre
 *   use_center  [N] bool               whether a sample is also truncated toward that centre
 * Outputs: image [N, C, R, R] (raw, not clamped); global_text, local_text, w, wp; and with
 * `exposeIntermediates`, img_res_*, blocks/netNN and router/<module>/* as well.
 */
export interface BuildGeneratorOptions {
  readonly exposeIntermediates?: boolean;
  /** The MoE formulation; every one computes the same function (see FeedForwardOptions.moe). */
  readonly moe?: MoeMode;
}

export function buildGenerator(config: GeneratorConfig, provider: ParamProvider, options: BuildGeneratorOptions = {}): BuiltGenerator {
  const graph = new Graph('aurora_generator', options.exposeIntermediates ?? false);
  const params = new ParamRegistry(provider);
  const b = new Builder(graph, params);
  const c = config;
  const layout = synthesisLayout(c);
  const L = layout.numLayers;
  const S = TEXT_TOKENS - 1;

  const textTokens = graph.addInput('text_tokens', 'float32', ['batch', TEXT_TOKENS, c.clip_out_dim]);
  const eotIndex = graph.addInput('eot_index', 'int64', ['batch']);
  const z = graph.addInput('z', 'float32', ['batch', c.z_dim]);
  const psi = graph.addInput('trunc_psi', 'float32', ['batch']);
  const truncLayers = graph.addInput('trunc_layers', 'int64', [1]);
  const centerZ = graph.addInput('center_z', 'float32', ['batch', 'center_count', c.z_dim]);
  const useCenter = graph.addInput('use_center', 'bool', ['batch']);

  const wAvg = b.param('w_avg', [c.repeat_w ? c.w_dim : L * c.w_dim], { kind: 'constant', value: 0 }, { buffer: true });
  const text = textHead(b.child('text_head'), textTokens, eotIndex, c, TEXT_TOKENS);
  const mapper = b.child('mapping');
  const { w, wp } = mapping(mapper, z, text.global, c, L);

  // The centre: map every centre latent with its sample's text (same weights), then average.
  const flatZ = b.reshape(centerZ, [-1, c.z_dim]);
  // The text repeated K times, by broadcasting against zeros shaped [N, K, 1] (not an Expand to a
  // computed shape: that shape arithmetic would run on the CPU). The latents are finite: 0 * z = 0.
  const zerosNK = b.scale(b.reduceSum(centerZ, [2]), 0);
  const textPerCenter = b.add(b.unsqueeze(text.global, [1]), zerosNK);
  const centerCodes = mapping(mapper, flatZ, b.reshape(textPerCenter, [-1, c.context_dim]), c, L).wp; // [N*K, L, w]
  // The mean over the K codes as ones[N, 1, K] @ codes[N, K, L*w] / K: one M = 1 GEMM per sample,
  // whose sums do not depend on the batch. A ReduceMean over K does: onnxruntime's CPU kernel sums a
  // middle axis in another order when the batch is 1 (and its optimizer turns a Transpose that puts
  // K last back into exactly that), so a sample's centre, hence its image, changed with its batch.
  // [N, K, L*w] is the shape of zeros expanded by a constant: its Shape feeds the Reshape with no shape
  // arithmetic (a Concat of dimensions would run on the CPU provider).
  const likePerSample = b.op('Shape', [b.op('Expand', [zerosNK, b.i64([1, 1, L * c.w_dim])])]);
  const perSample = b.op('Reshape', [centerCodes, likePerSample]); // [N, K, L*w]
  const ones = b.transpose(b.add(zerosNK, b.f32(1)), [0, 2, 1]); // [N, 1, K]
  const centerSum = b.matmul(ones, perSample); // [N, 1, L*w]
  // K as a float from the ones themselves (an exact sum of ones), not a Cast of a shape.
  const centerWp = b.reshape(b.div(centerSum, b.reduceSum(ones, [2])), [0, L, c.w_dim]);

  graph.tap(centerWp, 'center_wp', 'float32', ['batch', L, c.w_dim]);
  const truncated = truncate(b, wp, {
    wAvg: b.reshape(wAvg, [1, c.repeat_w ? 1 : L, c.w_dim]), psi, layers: truncLayers, numLayers: L, center: centerWp, useCenter,
  });
  const image = synthesis(b.child('synthesis'), truncated, text.local, c, layout, S, { moe: options.moe });

  const R = outputResolution(c);
  graph.addOutput(image, 'image', 'float32', ['batch', c.image_channels, R, R]);
  graph.addOutput(text.global, 'global_text', 'float32', ['batch', c.context_dim]);
  graph.addOutput(text.local, 'local_text', 'float32', ['batch', S, c.context_dim]);
  graph.addOutput(w, 'w', 'float32', ['batch', c.repeat_w ? c.w_dim : L * c.w_dim]);
  graph.addOutput(truncated, 'wp', 'float32', ['batch', L, c.w_dim]);
  params.finish();
  return { graph, params, layout };
}
