import type { GeneratorConfig } from '../config/generator-config.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import { Builder } from '../onnx/builder.ts';
import { Graph } from '../onnx/graph.ts';
import { type ParamProvider, ParamRegistry } from '../onnx/params.ts';
import { TEXT_TOKENS } from './generator.ts';
import { imageFromCodes, samplingInputs } from './image-from-codes.ts';
import { outputResolution, synthesisLayout } from './layout.ts';
import { textHead } from './text-head.ts';

/**
 * The generator in two stages, for callers that change the text codes between the text head and
 * the rest (prompt interpolation, as the reference run_interpolate.py does). Together they compute
 * what buildGenerator's one graph computes, with the same parameter names, so a bundle stores their
 * weights once (in generator.onnx's external data).
 *
 * Text stage: text_tokens [N, 77, clip_out_dim], eot_index [N] -> global_text [N, ctx], local_text [N, 76, ctx].
 */
export function buildTextStage(config: GeneratorConfig, provider: ParamProvider): { graph: Graph; params: ParamRegistry } {
  const graph = new Graph('aurora_text_stage');
  const params = new ParamRegistry(provider);
  const b = new Builder(graph, params);
  const c = config;
  const textTokens = graph.addInput('text_tokens', 'float32', ['batch', TEXT_TOKENS, c.clip_out_dim]);
  const eotIndex = graph.addInput('eot_index', 'int64', ['batch']);
  const text = textHead(b.child('text_head'), textTokens, eotIndex, c, TEXT_TOKENS);
  graph.addOutput(text.global, 'global_text', 'float32', ['batch', c.context_dim]);
  graph.addOutput(text.local, 'local_text', 'float32', ['batch', TEXT_TOKENS - 1, c.context_dim]);
  return { graph, params };
}

/**
 * Image stage: the generator's inputs with the text codes in place of the CLIP features:
 *   global_text [N, ctx]        the code the mapping sees (and the centre latents are mapped with)
 *   local_text  [N, 76, ctx]    the codes the synthesis attends to
 *   z, trunc_psi, trunc_layers, center_z, use_center   as in buildGenerator
 * Outputs: image [N, C, R, R], w, wp (after truncation).
 */
export function buildImageStage(config: GeneratorConfig, provider: ParamProvider, options: { moe?: MoeMode } = {}): { graph: Graph; params: ParamRegistry } {
  const graph = new Graph('aurora_image_stage');
  const params = new ParamRegistry(provider);
  const b = new Builder(graph, params);
  const c = config;
  const layout = synthesisLayout(c);
  const L = layout.numLayers;
  const globalText = graph.addInput('global_text', 'float32', ['batch', c.context_dim]);
  const localText = graph.addInput('local_text', 'float32', ['batch', TEXT_TOKENS - 1, c.context_dim]);
  const sampling = samplingInputs(b, c, layout);
  const { image, w, wp } = imageFromCodes(b, c, layout, { globalText, localText, ...sampling }, { moe: options.moe, textTokens: TEXT_TOKENS });
  const R = outputResolution(c);
  graph.addOutput(image, 'image', 'float32', ['batch', c.image_channels, R, R]);
  graph.addOutput(w, 'w', 'float32', ['batch', c.repeat_w ? c.w_dim : L * c.w_dim]);
  graph.addOutput(wp, 'wp', 'float32', ['batch', L, c.w_dim]);
  return { graph, params };
}
