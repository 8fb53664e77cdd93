import { type ClipTextConfig, parseClipTextConfig } from './config.ts';

/** What config inference needs of a state dict: only the shapes (HostTensor and NamedTensor fit). */
export type ShapeSource = ReadonlyMap<string, { readonly shape: readonly number[] }>;

/** OpenAI's text towers all use 64-wide heads; build_model_from_openai_state_dict assumes it. */
const OPENAI_HEAD_WIDTH = 64;

/**
 * The text-tower config of an OpenAI-layout state dict, read from its shapes the way the
 * reference's build_model_from_openai_state_dict does. The head count is not in any shape: it is
 * width/64 unless `heads` is given (the tiny reference fixtures use 4 heads of width 16 or 8, so
 * they must pass it). Every other key is checked later by checkpointProvider.
 */
export function inferClipTextConfig(stateDict: ShapeSource, overrides: { readonly heads?: number } = {}): ClipTextConfig {
  const shapeOf = (key: string, rank: number): readonly number[] => {
    const t = stateDict.get(key);
    if (!t) throw new RangeError(`cannot infer the CLIP text config: the state dict has no ${key}`);
    if (t.shape.length !== rank) throw new RangeError(`cannot infer the CLIP text config: ${key} is [${t.shape.join(', ')}], expected rank ${rank}`);
    return t.shape;
  };
  const [vocabSize, width] = shapeOf('token_embedding.weight', 2);
  const [contextLength] = shapeOf('positional_embedding', 2);
  const [, embedDim] = shapeOf('text_projection', 2);
  const blocks = new Set<number>();
  for (const key of stateDict.keys()) {
    const m = /^transformer\.resblocks\.(\d+)\./.exec(key);
    if (m) blocks.add(Number(m[1]));
  }
  // Block indices must be 0..n-1; a gap would otherwise silently drop the later blocks.
  const layers = blocks.size;
  for (let i = 0; i < layers; i++) {
    if (!blocks.has(i)) throw new RangeError(`cannot infer the CLIP text config: transformer.resblocks.${i} is missing but ${layers} blocks are present`);
  }
  let heads = overrides.heads;
  if (heads === undefined) {
    if (width % OPENAI_HEAD_WIDTH !== 0) {
      throw new RangeError(`cannot infer the CLIP text head count: width ${width} is not a multiple of ${OPENAI_HEAD_WIDTH}; pass heads explicitly`);
    }
    heads = width / OPENAI_HEAD_WIDTH;
  }
  return parseClipTextConfig({ contextLength, vocabSize, width, heads, layers, embedDim });
}
