import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cacheKey, normalisePrompt } from '../src/cache/key.ts';

const base = { contentHash: 'f'.repeat(64), prompt: 'a red apple', seed: 1, psi: 0.7, size: '64x64' };

describe('cache key', () => {
  it('normalises prompts exactly as the tokenizer cleans them', () => {
    expect(normalisePrompt('  A   Red\tApple\n')).toBe('a red apple');
    expect(normalisePrompt('caf\u0065\u0301')).toBe(normalisePrompt('caf\u00e9')); // NFC
    expect(normalisePrompt('fish &amp; chips')).toBe('fish & chips');
    expect(normalisePrompt('a red apple.')).not.toBe(normalisePrompt('a red apple')); // punctuation is a token
  });

  it('is a stable sha256 over every part', () => {
    const key = cacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey({ ...base })).toBe(key);
    for (const change of [{ contentHash: 'e'.repeat(64) }, { prompt: 'a red apples' }, { seed: 2 }, { psi: 0.71 }, { size: '128x128' }]) {
      expect(cacheKey({ ...base, ...change }), JSON.stringify(change)).not.toBe(key);
    }
    // The layout is part of the cache's contract: changing it must be deliberate (bump CACHE_KEY_VERSION).
    const layout = `{"bundle":"${'f'.repeat(64)}","prompt":"a red apple","psi":0.7,"seed":1,"size":"64x64","v":1}`;
    expect(key).toBe(createHash('sha256').update(layout).digest('hex'));
  });
});
