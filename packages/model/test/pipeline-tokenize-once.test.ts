import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../src/bundle/sha256.ts';
import { AuroraInputError } from '../src/pipeline/errors.ts';
import type { AuroraInterpolator } from '../src/pipeline/interpolation.ts';
import type { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import { loadTinyNode } from './support/tiny-bundle.ts';

describe('a prompt is tokenized once per request path', () => {
  let pipeline: AuroraPipeline;
  let interpolator: AuroraInterpolator;
  beforeAll(async () => {
    ({ pipeline, interpolator } = await loadTinyNode());
  });

  it('generate tokenizes each distinct prompt once (validation and encoding share the ids)', async () => {
    const spy = vi.spyOn(pipeline.text.tokenizer, 'tokenizeWithInfo');
    try {
      await pipeline.generate([
        { prompt: 'a red apple', seed: 1 },
        { prompt: 'a red apple', seed: 2 },
        { prompt: 'a green pear', seed: 1 },
      ]);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('ids from validate() are not tokenized again, and give the same image', async () => {
    const request = { prompt: 'a blue circle on white', seed: 9 };
    const tokenIds = pipeline.validate(request);
    expect(tokenIds.length).toBe(pipeline.manifest.tokenizer.contextLength);
    const spy = vi.spyOn(pipeline.text.tokenizer, 'tokenizeWithInfo');
    let withIds: Awaited<ReturnType<AuroraPipeline['generate']>>;
    try {
      withIds = await pipeline.generate([{ ...request, tokenIds }]);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    const plain = await pipeline.generate([request]);
    expect(sha256Hex([withIds[0].png])).toBe(sha256Hex([plain[0].png]));
    expect(() => pipeline.validate({ ...request, tokenIds: tokenIds.subarray(0, 10) })).toThrow(AuroraInputError);
  });

  it('an interpolation tokenizes its two prompts once each', async () => {
    const spy = vi.spyOn(interpolator.text.tokenizer, 'tokenizeWithInfo');
    try {
      await interpolator.interpolate({ from: 'a red apple', to: 'a green pear', steps: 2, seed: 1 });
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });
});
