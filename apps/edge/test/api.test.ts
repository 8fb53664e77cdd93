import { decodePng } from '@aurora-edge/model';
import { afterEach, describe, expect, it } from 'vitest';
import { images } from '../src/cache/schema.ts';
import { testApp } from './support/deps.ts';

let open: ReturnType<typeof testApp> | null = null;
const setup = (env = {}) => (open = testApp(env));
afterEach(async () => {
  await open?.close();
  open = null;
});

const rowCount = async (t: ReturnType<typeof testApp>) => (await t.db.select({ key: images.key }).from(images)).length;

describe('POST /v1/images/generations: validation', () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['empty prompt, n=99', { prompt: '', n: 99 }, 400, 'prompt'],
    ['blank prompt', { prompt: '   \n ' }, 400, 'prompt'],
    ['prompt over 1000 characters', { prompt: 'a'.repeat(1001) }, 400, 'prompt'],
    ['prompt over 77 tokens', { prompt: Array.from({ length: 90 }, (_, i) => `w${i}`).join(' ') }, 400, 'prompt'],
    ['prompt not a string', { prompt: 42 }, 400, 'prompt'],
    ['missing prompt', { n: 1 }, 400, 'prompt'],
    ['n = 0', { prompt: 'x', n: 0 }, 400, 'n'],
    ['n = 17', { prompt: 'x', n: 17 }, 400, 'n'],
    ['n fractional', { prompt: 'x', n: 1.5 }, 400, 'n'],
    ['n as a string', { prompt: 'x', n: '2' }, 400, 'n'],
    ['psi above 1', { prompt: 'x', truncation_psi: 1.01 }, 400, 'truncation_psi'],
    ['psi below 0', { prompt: 'x', truncation_psi: -0.1 }, 400, 'truncation_psi'],
    ['negative seed', { prompt: 'x', seed: -1 }, 400, 'seed'],
    ['seed past uint32', { prompt: 'x', seed: 2 ** 32 }, 400, 'seed'],
    ['seed + n - 1 past uint32', { prompt: 'x', seed: 2 ** 32 - 2, n: 3 }, 400, 'seed'],
    ['unknown model', { prompt: 'x', model: 'dall-e-3' }, 400, 'model'],
    ['wrong size', { prompt: 'x', size: '1024x1024' }, 400, 'size'],
    ['size not WxH', { prompt: 'x', size: 'big' }, 400, 'size'],
    ['bad response_format', { prompt: 'x', response_format: 'png' }, 400, 'response_format'],
    ['bad cache mode', { prompt: 'x', cache: 'sometimes' }, 400, 'cache'],
    ['body is an array', [1, 2], 400, 'body'],
    ['malformed JSON', '{"prompt": "x",', 400, 'body'],
    ['body over the limit', JSON.stringify({ prompt: 'x', pad: 'y'.repeat(20_000) }), 413, 'body'],
  ];
  it.each(cases.map(([name, body, status, field]) => ({ name, body, status, field })))('$name -> $status naming $field', async ({ body, status, field }) => {
    const t = setup();
    const res = await t.post(body);
    expect(res.status).toBe(status);
    const json = (await res.json()) as { error: { code: string; message: string; field?: string } };
    expect(json.error.field).toBe(field);
    expect(json.error.message).toContain(field === 'body' ? '' : field);
    expect(t.gen.calls).toHaveLength(0);
  });

  it('refuses a body that is not JSON with 415', async () => {
    const t = setup();
    const res = await t.request('/v1/images/generations', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'prompt=x' });
    expect(res.status).toBe(415);
    expect((await res.json()).error.field).toBe('body');
  });

  it('accepts null for optional fields and ignores unknown ones', async () => {
    const t = setup();
    const res = await t.post({ prompt: 'x', seed: null, model: null, truncation_psi: null, size: null, user: 'someone', quality: 'hd' });
    expect(res.status).toBe(200);
  });
});

describe('POST /v1/images/generations: cache and routing', () => {
  it('generates a miss in WASM, then serves it from the cache with the same bytes', async () => {
    const t = setup();
    const first = await t.post({ prompt: 'a red apple', seed: 7, response_format: 'b64_json' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-aurora-route')).toBe('wasm');
    const a = await first.json();
    expect(a).toMatchObject({ model: 'aurora-tiny', seed: 7, truncation_psi: 0.7, size: '64x64', data: [{ seed: 7, cached: false, route: 'wasm' }] });
    const again = await t.post({ prompt: '  A RED   apple', seed: 7, response_format: 'b64_json' });
    expect(again.headers.get('x-aurora-route')).toBe('cache');
    const b = await again.json();
    expect(b.data[0]).toMatchObject({ id: a.data[0].id, cached: true, route: 'cache', b64_json: a.data[0].b64_json });
    expect(decodePng(Buffer.from(b.data[0].b64_json, 'base64')).width).toBe(64);
    expect(t.gen.calls).toHaveLength(1);
  });

  it('uses seeds seed..seed+n-1, mixes cache and wasm, and picks a random seed when none is given', async () => {
    const t = setup();
    await t.post({ prompt: 'p', seed: 100, n: 1 });
    const res = await t.post({ prompt: 'p', seed: 99, n: 3 });
    expect(res.headers.get('x-aurora-route')).toBe('cache,wasm');
    const json = await res.json();
    expect(json.data.map((d: { seed: number; cached: boolean }) => [d.seed, d.cached])).toEqual([
      [99, false],
      [100, true],
      [101, false],
    ]);
    expect(json.data[1].url).toMatch(new RegExp(`^http://edge\\.test/v1/images/${json.data[1].id}\\.[0-9a-f]{16}\\.png$`));
    const random = await (await t.post({ prompt: 'p', n: 2 })).json();
    expect(Number.isInteger(random.seed)).toBe(true);
    expect(random.data.map((d: { seed: number }) => d.seed)).toEqual([random.seed, random.seed + 1]);
  });

  it('refresh regenerates and replaces; only never generates', async () => {
    const t = setup();
    expect((await t.post({ prompt: 'q', seed: 1, cache: 'only' })).status).toBe(404);
    await t.post({ prompt: 'q', seed: 1 });
    const only = await t.post({ prompt: 'q', seed: 1, cache: 'only' });
    expect(only.headers.get('x-aurora-route')).toBe('cache');
    const refresh = await t.post({ prompt: 'q', seed: 1, cache: 'refresh' });
    expect(refresh.headers.get('x-aurora-route')).toBe('wasm');
    expect((await refresh.json()).data[0].cached).toBe(false);
    expect(t.gen.calls).toHaveLength(2);
    expect(await rowCount(t)).toBe(1);
  });

  it('coalesces identical concurrent requests into one generation', async () => {
    const t = setup();
    let release!: () => void;
    t.gen.gate = new Promise((r) => (release = r));
    const pending = Array.from({ length: 5 }, () => t.post({ prompt: 'same', seed: 3, n: 2, response_format: 'b64_json' }));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const bodies = await Promise.all((await Promise.all(pending)).map((r) => r.json()));
    expect(new Set(bodies.map((b) => JSON.stringify(b.data.map((d: { b64_json: string }) => d.b64_json)))).size).toBe(1);
    expect(t.gen.calls.flat().map((r) => r.seed)).toEqual([3, 4]);
  });

  it('writes nothing when a generation fails, and the next request retries', async () => {
    const t = setup();
    t.gen.fail = new Error('wasm exploded');
    const res = await t.post({ prompt: 'fails', seed: 1, n: 2 });
    expect(res.status).toBe(500);
    expect((await res.json()).error).toMatchObject({ code: 'internal_error', message: 'internal error: wasm exploded' });
    expect(await rowCount(t)).toBe(0);
    t.gen.fail = null;
    expect((await t.post({ prompt: 'fails', seed: 1, n: 2 })).status).toBe(200);
    expect(await rowCount(t)).toBe(2);
  });

  it('without runners: falls back to WASM up to WASM_FALLBACK_MAX_BATCH, else 503 with Retry-After', async () => {
    const t = setup({ WASM_MAX_BATCH: '2', WASM_FALLBACK_MAX_BATCH: '4', RETRY_AFTER_S: '7' });
    const small = await t.post({ prompt: 'r', seed: 1, n: 4 });
    expect(small.headers.get('x-aurora-route')).toBe('wasm');
    const big = await t.post({ prompt: 'r', seed: 10, n: 5 });
    expect(big.status).toBe(503);
    expect(big.headers.get('retry-after')).toBe('7');
    expect((await big.json()).error.code).toBe('no_runner');
  });
});

describe('in-process queue bound (WASM_MAX_QUEUE)', () => {
  it('past the bound a request without a runner gets 503 busy with Retry-After; the queued ones finish and the next is served', async () => {
    const t = setup({ WASM_MAX_BATCH: '2', WASM_FALLBACK_MAX_BATCH: '2', WASM_MAX_QUEUE: '3', RETRY_AFTER_S: '9' });
    let release!: () => void;
    t.gen.gate = new Promise((r) => (release = r));
    const queued = [t.post({ prompt: 'q1', seed: 1, n: 2 }), t.post({ prompt: 'q2', seed: 1 })];
    await new Promise((r) => setTimeout(r, 50));
    const refused = await t.post({ prompt: 'q3', seed: 1 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('9');
    expect((await refused.json()).error).toMatchObject({ code: 'busy', type: 'server_error' });
    release();
    t.gen.gate = null;
    expect((await Promise.all(queued)).map((r) => r.status)).toEqual([200, 200]);
    // A cache hit never waits for the queue.
    expect((await t.post({ prompt: 'q2', seed: 1 })).headers.get('x-aurora-route')).toBe('cache');
    expect((await t.post({ prompt: 'q3', seed: 1 })).status).toBe(200);
    expect(await rowCount(t)).toBe(4);
  });

  it('is at least WASM_FALLBACK_MAX_BATCH, and a bad value is a config error', async () => {
    const { parseEdgeConfig } = await import('../src/config.ts');
    expect(parseEdgeConfig({ WASM_FALLBACK_MAX_BATCH: '6', WASM_MAX_QUEUE: '2' }).routing.wasmMaxQueue).toBe(6);
    expect(parseEdgeConfig({}).routing.wasmMaxQueue).toBe(32);
    expect(() => parseEdgeConfig({ WASM_MAX_QUEUE: '0' })).toThrow(/WASM_MAX_QUEUE/);
  });
});

describe('GET endpoints', () => {
  it('serves images immutably with a strong ETag and 304', async () => {
    const t = setup();
    const { data } = await (await t.post({ prompt: 'img', seed: 5 })).json();
    const path = new URL(data[0].url).pathname;
    const res = await t.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    expect(decodePng(new Uint8Array(await res.arrayBuffer())).height).toBe(64);
    const cached = await t.request(path, { headers: { 'if-none-match': `W/"nope", ${etag}` } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);
    expect((await t.request(path, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    expect((await t.request(`/v1/images/${'0'.repeat(64)}.png`)).status).toBe(404);
    expect((await t.request('/v1/images/nothex.png')).status).toBe(404);
  });

  it('looks the cache up without generating', async () => {
    const t = setup();
    await t.post({ prompt: 'Look Up', seed: 9, truncation_psi: 0.5 });
    const hit = await t.request('/v1/cache?prompt=look%20up&seed=9&psi=0.5&response_format=b64_json');
    expect(hit.status).toBe(200);
    expect(await hit.json()).toMatchObject({ prompt: 'look up', seed: 9, truncation_psi: 0.5, route: 'wasm', model: 'aurora-tiny', size: '64x64' });
    expect((await t.request('/v1/cache?prompt=look%20up&seed=9')).status).toBe(404); // default psi 0.7
    const bad = await t.request('/v1/cache?prompt=x&seed=-1');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.field).toBe('seed');
    expect((await (await t.request('/v1/cache?seed=1')).json()).error.field).toBe('prompt');
    expect(t.gen.calls).toHaveLength(1);
  });

  it('counts cache hits (buffered, written on flush)', async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) await t.post({ prompt: 'counted', seed: 1 });
    await t.post({ prompt: 'counted', seed: 0, n: 2 });
    await t.deps.store.flushHits();
    const entry = await (await t.request('/v1/cache?prompt=counted&seed=1')).json();
    expect(entry.hit_count).toBe(3);
  });

  it('reports the cache bound and, after a save, the usage in /healthz', async () => {
    const t = setup({ CACHE_MAX_BYTES: '5000000', CACHE_MAX_ENTRIES: '100' });
    const before = (await (await t.request('/healthz')).json()).cache;
    expect(before).toMatchObject({ max_bytes: 5_000_000, max_entries: 100 });
    const made = await (await t.post({ prompt: 'health', seed: 1, n: 2, response_format: 'b64_json' })).json();
    const bytes = made.data.reduce((sum: number, d: { b64_json: string }) => sum + Buffer.from(d.b64_json, 'base64').length, 0);
    // The first save's background check reads the shared total: exactly what was stored here.
    const expected = { max_bytes: 5_000_000, max_entries: 100, estimated_bytes: bytes, estimated_entries: 2 };
    let cache: unknown = null;
    for (let i = 0; i < 100 && JSON.stringify(cache) !== JSON.stringify(expected); i++) {
      await new Promise((r) => setTimeout(r, 20));
      cache = (await (await t.request('/healthz')).json()).cache;
    }
    expect(cache).toEqual(expected);
  });

  it('lists models, reports health, and documents the API', async () => {
    const t = setup();
    const models = await (await t.request('/v1/models')).json();
    expect(models.data[0]).toMatchObject({ id: 'aurora-tiny', object: 'model', size: '64x64', default_psi: 0.7 });
    expect(await (await t.request('/healthz')).json()).toMatchObject({ ok: true, runtime: 'test', runners: [] });
    const doc = await (await t.request('/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/images/generations', '/v1/images/{id}.png', '/v1/cache', '/v1/models', '/healthz']));
    expect(doc.components.schemas.GenerateRequest.properties.n).toMatchObject({ minimum: 1, maximum: 16 });
    expect((await t.request('/docs')).headers.get('content-type')).toContain('text/html');
    expect(await (await t.request('/')).text()).toContain('/v1/images/generations');
    expect((await (await t.request('/nope')).json()).error.code).toBe('not_found');
    const preflight = await t.request('/v1/images/generations', {
      method: 'OPTIONS',
      headers: { origin: 'https://x.test', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type');
    const simple = await t.request('/v1/models', { headers: { origin: 'https://x.test' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('*');
  });
});
