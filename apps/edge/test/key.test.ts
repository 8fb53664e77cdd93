import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalFloat32, normalisePrompt } from '../src/cache/key.ts';

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

describe('numeric key parts are keyed as the model consumes them', () => {
  it('psi: doubles that round to one float32 are one key, written as the shortest decimal of that float32', () => {
    expect([0.3, 0.1 + 0.2, 0.30000001, 5e-324, -0, 0, 0.7, 1, 1e-40].map(canonicalFloat32)).toEqual([0.3, 0.3, 0.3, 0, 0, 0, 0.7, 1, 1e-40]);
    const key = (psi: number) => cacheKey({ ...base, psi });
    expect(key(0.1 + 0.2)).toBe(key(0.3));
    expect(key(5e-324)).toBe(key(0));
    expect(key(0.3000001)).not.toBe(key(0.3)); // a different float32: a different image
  });
});

describe('cache key memo', () => {
  const uncached = (p: typeof base) =>
    createHash('sha256')
      .update(
        `{"bundle":${JSON.stringify(p.contentHash)},"prompt":${JSON.stringify(p.prompt)},"psi":${JSON.stringify(canonicalFloat32(p.psi))},"seed":${p.seed},"size":${JSON.stringify(p.size)},"v":1}`,
      )
      .digest('hex');

  it('gives the same key as the canonical JSON hash, on first use and on every repeat', () => {
    const cases = [
      base,
      { ...base, psi: 0 },
      { ...base, psi: -0 },
      { ...base, psi: 1 },
      { ...base, psi: 0.1 + 0.2 },
      { ...base, seed: 2 ** 32 - 1 },
      { ...base, prompt: '' },
      { ...base, prompt: 'quote " backslash \\ colon : 1:2 \u0000 caf\u00e9 \u{1f34e}' },
    ];
    for (let round = 0; round < 3; round++) for (const p of cases) expect(cacheKey(p), JSON.stringify(p)).toBe(uncached(p));
  });

  it('never mixes up parts whose concatenations look alike', () => {
    // Each pair would collide under a naive join of the parts.
    const pairs: Array<[typeof base, typeof base]> = [
      [
        { ...base, size: '64x64', prompt: '1:a' },
        { ...base, size: '64x641', prompt: ':a' },
      ],
      [
        { ...base, seed: 1, psi: 0.7, prompt: 'x' },
        { ...base, seed: 10, psi: 0.7, prompt: 'x' },
      ],
      [
        { ...base, psi: 0.7, prompt: ':x' },
        { ...base, psi: 0.7, prompt: 'x' },
      ],
      [
        { ...base, contentHash: 'ab', size: 'c' },
        { ...base, contentHash: 'a', size: 'bc' },
      ],
    ];
    for (const [a, b] of pairs) {
      expect(cacheKey(a)).toBe(uncached(a));
      expect(cacheKey(b)).toBe(uncached(b));
      expect(cacheKey(a)).not.toBe(cacheKey(b));
    }
  });

  it('stays right past the memo bound (evicted entries are recomputed)', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => cacheKey({ ...base, seed: i }));
    for (let i = 0; i < 3000; i += 97) expect(cacheKey({ ...base, seed: i })).toBe(keys[i]);
    expect(new Set(keys).size).toBe(3000);
    expect(keys[5]).toBe(uncached({ ...base, seed: 5 }));
  });

  it('normalises the same way on a repeat as the first time', () => {
    for (const raw of ['  A   Red\tApple\n', 'fish &amp; chips', 'caf\u0065\u0301']) {
      const first = normalisePrompt(raw);
      expect(normalisePrompt(raw)).toBe(first);
    }
  });
});
