/**
 * The cache-hit path's memos (prompt normalisation, token-length check, cache key, image URL root)
 * must be invisible: the same answers, bytes and errors on the first request and every repeat.
 */
import type { AuroraPipeline } from '@aurora-edge/model';
import type { Context } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { imageUrl } from '../src/api/context.ts';
import type { AppDeps } from '../src/deps.ts';
import { ModelEntry } from '../src/generate/models.ts';
import { testApp, tinyBundle } from './support/deps.ts';

const fakeContext = (url: string) => ({ req: { url } }) as unknown as Context;
const depsWith = (publicUrl?: string) => ({ publicUrl }) as unknown as AppDeps;

describe('imageUrl', () => {
  const id = 'ab'.repeat(32);
  const bases = [
    'http://edge.test/v1/images/generations',
    'http://127.0.0.1:8787/v1/images/generations?x=1#frag',
    'https://Example.COM:443/prefix/path/',
    'http://example.com:80',
    'https://user:secret@example.com:8443/a/b?c',
    'http://[::1]:9000/v1/cache',
    'http://xn--bcher-kva.example/',
    'http://bücher.example/x',
    'https://gateway.example/base/',
  ];

  const etag = 'cd'.repeat(32);

  it('is exactly new URL(`/v1/images/<id>.<version>.png`, base), on first use and on repeats', () => {
    for (let round = 0; round < 2; round++) {
      for (const base of bases) {
        const expected = new URL(`/v1/images/${id}.${'cd'.repeat(8)}.png`, base).toString();
        expect(imageUrl(fakeContext(base), depsWith(), id, etag), base).toBe(expected);
        expect(imageUrl(fakeContext('http://ignored.test/'), depsWith(base), id, etag), base).toBe(expected);
      }
    }
  });

  it('resolves ids that are not image ids the full way', () => {
    for (const odd of ['../x', 'a b', 'ABC', '%41']) {
      expect(imageUrl(fakeContext('http://edge.test/'), depsWith(), odd, etag)).toBe(
        new URL(`/v1/images/${odd}.${'cd'.repeat(8)}.png`, 'http://edge.test/').toString(),
      );
    }
  });
});

describe('ModelEntry.checkPrompt', () => {
  const entry = () => new ModelEntry(tinyBundle(), async () => ({}) as AuroraPipeline);
  const long = Array.from({ length: 90 }, (_, i) => `w${i}`).join(' ');

  it('tokenizes a fitting prompt once, and rejects a long one the same way every time', async () => {
    const model = entry();
    const tokenizer = await model.tokenizer();
    const spy = vi.spyOn(tokenizer, 'tokenizeWithInfo');
    await model.checkPrompt('a red apple');
    await model.checkPrompt('a red apple');
    expect(spy).toHaveBeenCalledTimes(1);
    const messages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const error = await model.checkPrompt(long).then(
        () => null,
        (e: Error) => e,
      );
      expect(error?.name).toBe('AuroraInputError');
      messages.push(error!.message);
    }
    expect(new Set(messages).size).toBe(1);
    expect(spy).toHaveBeenCalledTimes(4);
  });
});

describe('POST /v1/images/generations: repeated cache hits', () => {
  let t: ReturnType<typeof testApp> | null = null;
  afterEach(async () => {
    await t?.close();
    t = null;
  });

  it('answers byte-for-byte alike (but created) with the same headers, and counts every hit', async () => {
    t = testApp();
    const body = { prompt: 'a red apple on a wooden table', n: 2, seed: 42 };
    await t.post(body);
    const answers: Array<{ text: string; headers: [string, string][] }> = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.post(body);
      expect(res.headers.get('x-aurora-route')).toBe('cache');
      // Every answer has its own request id; everything else is alike.
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      answers.push({ text: (await res.text()).replace(/"created":\d+/, '"created":0'), headers: [...res.headers].filter(([k]) => k !== 'x-request-id') });
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    await t.deps.store.flushHits();
    const json = JSON.parse(answers[0].text);
    const record = await (await t.request(`/v1/cache?prompt=${encodeURIComponent(body.prompt)}&seed=42`)).json();
    expect(record).toMatchObject({ id: json.data[0].id, hit_count: 3 });
  });

  it('refuses a prompt over 77 tokens on every try', async () => {
    t = testApp();
    const prompt = Array.from({ length: 90 }, (_, i) => `w${i}`).join(' ');
    const bodies = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.post({ prompt, seed: 1 });
      expect(res.status).toBe(400);
      bodies.push((await res.text()).replace(/"request_id":"[^"]+"/, '"request_id":"-"'));
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]).error.field).toBe('prompt');
  });
});
