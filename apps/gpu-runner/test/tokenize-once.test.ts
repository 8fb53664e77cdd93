import { loadBundleTokenizer, memoryBundle } from '@aurora-edge/model';
import { buildTinyBundle } from '@aurora-edge/model/build';
import { describe, expect, it, vi } from 'vitest';
import { parseGenerateBody } from '../src/generate.ts';
import { createItemValidator } from '../src/item-validator.ts';
import { RunnerState } from '../src/state.ts';

describe('the runner tokenizes a prompt once', () => {
  it('the HTTP thread check returns the ids that travel with the item to the model worker', async () => {
    const built = buildTinyBundle();
    const source = await memoryBundle(built.manifest, new Map([...built.files].map(([name, chunks]) => [name, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)])));
    const state = new RunnerState();
    const validate = await createItemValidator(source);
    const calls = vi.fn(validate);
    state.models.set('aurora-tiny', { id: 'aurora-tiny', version: '0.1.0', contentHash: source.contentHash, trained: false, validate: calls });
    const items = parseGenerateBody(JSON.stringify({ items: [{ bundle: 'aurora-tiny', prompt: 'a red apple', seed: 1, psi: 0.7 }, { bundle: 'aurora-tiny', prompt: 'a cat', seed: 2, psi: 1 }] }), state, 8);
    expect(calls).toHaveBeenCalledTimes(2);
    const tokenizer = await loadBundleTokenizer(source);
    expect(Array.from(items[0].tokenIds)).toEqual(Array.from(tokenizer.tokenize('a red apple', source.manifest.tokenizer.contextLength)));
    expect(items[1].tokenIds.length).toBe(source.manifest.tokenizer.contextLength);
    // Structured clone (postMessage to the model worker) keeps them.
    expect(structuredClone(items[0]).tokenIds).toEqual(items[0].tokenIds);
  });
});
