import { loadBundleTokenizer } from '@aurora-edge/model';
import { describe, expect, it } from 'vitest';
import { testApp, tinyBundle } from './support/deps.ts';

describe('the gateway tokenizes a prompt once', () => {
  it('the ids of its prompt check go to the in-process generator (which encodes them as they are)', async () => {
    const t = testApp();
    try {
      const res = await t.post({ prompt: 'a red apple on a table', seed: 5, n: 2 });
      expect(res.status).toBe(200);
      const source = tinyBundle();
      const expected = (await loadBundleTokenizer(source)).tokenize('a red apple on a table', source.manifest.tokenizer.contextLength);
      const sent = t.gen.calls.flat();
      expect(sent).toHaveLength(2);
      for (const r of sent) expect(Array.from(r.tokenIds ?? [])).toEqual(Array.from(expected));
    } finally {
      await t.close();
    }
  });
});
