import { CLIP_CONTEXT_LENGTH } from '../clip/context-length.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';
import { Builder } from '../onnx/builder.ts';
import { Graph } from '../onnx/graph.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import { type ParamProvider, ParamRegistry } from '../onnx/params.ts';
import { outputResolution, synthesisLayout, type SynthesisLayout } from './layout.ts';
import { imageFromCodes, samplingInputs } from './image-from-codes.ts';
import { textHead } from './text-head.ts';

/** CLIP's context length: the generator consumes all 77 token features. */
export const TEXT_TOKENS = CLIP_CONTEXT_LENGTH;

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

  const textTokens = graph.addInput('text_tokens', 'float32', ['batch', TEXT_TOKENS, c.clip_out_dim]);
  const eotIndex = graph.addInput('eot_index', 'int64', ['batch']);
  const sampling = samplingInputs(b, c, layout);

  const text = textHead(b.child('text_head'), textTokens, eotIndex, c, TEXT_TOKENS);
  const { image, w, wp } = imageFromCodes(
    b,
    c,
    layout,
    { globalText: text.global, localText: text.local, ...sampling },
    { moe: options.moe, textTokens: TEXT_TOKENS },
  );

  const R = outputResolution(c);
  graph.addOutput(image, 'image', 'float32', ['batch', c.image_channels, R, R]);
  graph.addOutput(text.global, 'global_text', 'float32', ['batch', c.context_dim]);
  graph.addOutput(text.local, 'local_text', 'float32', ['batch', TEXT_TOKENS - 1, c.context_dim]);
  graph.addOutput(w, 'w', 'float32', ['batch', c.repeat_w ? c.w_dim : L * c.w_dim]);
  graph.addOutput(wp, 'wp', 'float32', ['batch', L, c.w_dim]);
  params.finish();
  return { graph, params, layout };
}
