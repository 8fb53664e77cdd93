import { Builder } from '../onnx/builder.ts';
import { Graph } from '../onnx/graph.ts';
import { type ParamProvider, ParamRegistry } from '../onnx/params.ts';
import { layerNorm } from '../layers/norm.ts';
import { causalMask } from './causal-mask.ts';
import type { ClipTextConfig } from './config.ts';
import { eotIndex, gatherRows, l2Normalize } from './pooling.ts';
import { residualBlock } from './residual-block.ts';

export interface BuiltClipText {
  readonly graph: Graph;
  readonly params: ParamRegistry;
}

/**
 * The OpenAI-layout CLIP text tower as one ONNX graph with a dynamic batch, computing
 * CLIP.encode_text(text, normalize=True) of the reference (models/clip_model.py). Parameters are
 * named by their state-dict keys (token_embedding.weight, positional_embedding,
 * transformer.resblocks.N.*, ln_final.*, text_projection). Every prompt is computed on its own:
 * nothing mixes rows of the batch, so batching never changes a result.
 *
 * Input:   token_ids   [N, 77] int64   tokenizer output (SOT ... EOT, zero padded)
 * Outputs: text_tokens [N, 77, width]  ln_final(x) for every position: the generator's text_tokens
 *          pooled      [N, embed_dim]  normalize(ln_final(x)[n, eot] @ text_projection)
 *          eot_index   [N] int64       argmax(token_ids): the generator's eot_index input
 */
export function buildClipText(config: ClipTextConfig, provider: ParamProvider): BuiltClipText {
  const graph = new Graph('clip_text');
  const params = new ParamRegistry(provider);
  const b = new Builder(graph, params);
  const tokenIds = graph.addInput('token_ids', 'int64', ['batch', config.contextLength]);
  const { tokens, pooled, eot } = clipText(b, tokenIds, config);
  graph.addOutput(tokens, 'text_tokens', 'float32', ['batch', config.contextLength, config.width]);
  graph.addOutput(pooled, 'pooled', 'float32', ['batch', config.embedDim]);
  graph.addOutput(eot, 'eot_index', 'int64', ['batch']);
  params.finish();
  return { graph, params };
}

export interface ClipTextValues {
  /** [N, T, width] ln_final(x) for every position. */
  readonly tokens: string;
  /** [N, embed_dim] the normalised projection at the EOT token. */
  readonly pooled: string;
  /** [N] int64, named `eot_index`. */
  readonly eot: string;
}

/**
 * The text tower's body on token ids [N, T] int64, in the builder's graph: what buildClipText
 * publishes, and what the serving graph (serving/serving-graph.ts) computes in front of the
 * generator. Built first in a graph, its constants get the names they have in text-encoder.onnx.
 */
export function clipText(b: Builder, tokenIds: string, config: ClipTextConfig): ClipTextValues {
  const { contextLength: T, vocabSize, width: W, heads, layers, embedDim } = config;
  const table = b.child('token_embedding').param('weight', [vocabSize, W], { kind: 'normal', std: 0.02 });
  const positions = b.param('positional_embedding', [T, W], { kind: 'normal', std: 0.01 });
  let x = b.add(b.op('Gather', [table, tokenIds], {}), positions); // [N, T, W]

  const mask = causalMask(b, T);
  const blocks = b.child('transformer').child('resblocks');
  for (let i = 0; i < layers; i++) x = residualBlock(blocks.child(i), x, { width: W, heads, tokens: T, layers, mask });
  const tokens = layerNorm(b.child('ln_final'), x, W); // [N, T, W]

  // Named as the graph output itself: an int64 output through an Identity would run on the CPU.
  const eot = eotIndex(b, tokenIds, vocabSize, 'eot_index'); // [N]
  const projection = b.param('text_projection', [W, embedDim], { kind: 'normal', std: W ** -0.5 });
  const pooled = l2Normalize(b, b.matmul(gatherRows(b, tokens, eot, T, W), projection)); // [N, E]
  return { tokens, pooled, eot };
}
