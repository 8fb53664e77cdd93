import { parseClipTextConfig } from '../clip/config.ts';
import { generatorPreset } from '../config/presets.ts';
import { randomProvider } from '../onnx/providers.ts';
import { PROMPT_CORPUS } from '../tokenizer/corpus.ts';
import { encodeVocabFile, trainBpeMerges } from '../tokenizer/train-vocab.ts';
import { type BuiltBundle, buildBundle } from './build.ts';

export const TINY_BUNDLE_ID = 'aurora-tiny';
export const TINY_BUNDLE_VERSION = '0.1.0';

/** 256 byte tokens, 256 end-of-word byte tokens, the merges, then SOT and EOT. */
const vocabSize = (merges: number) => 512 + merges + 2;

/**
 * The built-in default bundle, made entirely by our own code and byte-identical on every build:
 * the aurora-tiny generator and a 2-layer, 32-wide CLIP-style text encoder, both with seeded
 * random weights (honestly marked untrained), and a BPE vocab learned from a small built-in
 * prompt corpus. It exercises every serving path; its images are structured noise.
 */
export function buildTinyBundle(): BuiltBundle {
  const merges = trainBpeMerges(PROMPT_CORPUS, 1024);
  return buildBundle({
    id: TINY_BUNDLE_ID,
    version: TINY_BUNDLE_VERSION,
    description: 'Every Aurora code path at 64x64, sized for a Worker. Random weights: not a trained model.',
    trained: false,
    generator: { config: generatorPreset('aurora-tiny'), provider: randomProvider(0x7a11) },
    textEncoder: {
      config: parseClipTextConfig({ vocabSize: vocabSize(merges.length), width: 32, heads: 4, layers: 2, embedDim: 32 }),
      provider: randomProvider(0xc11b),
    },
    vocab: { bytes: encodeVocabFile(merges), mergeCount: merges.length },
  });
}
