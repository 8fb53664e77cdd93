import * as path from 'node:path';
import { readGeneratorStateDict, readSafetensors, readStateDict, type StateDict } from '../weights/index.ts';
import { openFileByteSource } from './fixture.ts';

const isSafetensors = (file: string) => path.extname(file).toLowerCase() === '.safetensors';

/**
 * A weights file's state dict, read tensor by tensor from disk (the official checkpoint is
 * larger than one buffer may be). `.safetensors` by extension, anything else as torch.save.
 */
export function readWeightsFile(file: string, kind: 'generator' | 'plain'): StateDict {
  const source = openFileByteSource(file);
  try {
    if (isSafetensors(file)) return readSafetensors(source);
    return kind === 'generator' ? readGeneratorStateDict(source) : readStateDict(source);
  } finally {
    source.close();
  }
}

const TEXT_TOWER = /^(token_embedding\.|positional_embedding$|text_projection$|transformer\.|ln_final\.)/;

/**
 * The CLIP text tower of a full CLIP state dict (OpenAI or open_clip layout, optionally under
 * a prefix such as `model.` or `clip.`): every other key (the vision tower, logit_scale) is dropped.
 */
export function textTowerStateDict(full: StateDict): StateDict {
  const prefixes = new Set<string>();
  for (const key of full.keys()) {
    const at = key.indexOf('token_embedding.weight');
    if (at >= 0 && key.endsWith('token_embedding.weight')) prefixes.add(key.slice(0, at));
  }
  if (prefixes.size !== 1) {
    throw new Error(prefixes.size ? `the CLIP weights hold several text towers (${[...prefixes].join(', ')})` : 'the CLIP weights have no token_embedding.weight: not a CLIP text tower');
  }
  const [prefix] = prefixes;
  const out: StateDict = new Map();
  for (const [key, tensor] of full) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    if (TEXT_TOWER.test(name)) out.set(name, tensor);
  }
  return out;
}
