import { describe, expect, it } from 'vitest';
import { apiKeys } from '../src/auth/schema.ts';
import { type testApp, useTestApp } from './support/deps.ts';

const setup = useTestApp();

type T = ReturnType<typeof testApp>;
const SITE = 'https://shop.example';

function gen(t: T, body: object, headers: Record<string, string> = {}) {
  return t.request('/v1/images/generations', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
const bearer = (secret: string, more: Record<string, string> = {}) => ({ authorization: `Bearer ${secret}`, ...more });
const newKey = (t: T, rpm = 30, origins = [SITE]) => t.deps.access.keys.create({ name: 'test', origins, rpm });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  // CORS on errors too, so a browser page can read why.
  expect(res.headers.get('access-control-allow-origin')).toBe('*');
  const body = await res.json();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  return body.error as { code: string; message: string };
}

describe('API keys (AUTH_MODE=keys)', () => {
  it('generation without a key is 401 api_key_required with a Bearer challenge, before the body is read', async () => {
    const t = setup({ AUTH_MODE: 'keys' });
    const res = await gen(t, { prompt: 'a red apple', seed: 1 });
    await expectError(res, 401, 'api_key_required');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    // A body the validator would refuse still gets the 401 first.
    await expectError(await t.request('/v1/images/generations', { method: 'POST', body: 'not json' }), 401, 'api_key_required');
    expect(t.gen.calls).toHaveLength(0);
  });

  it('a wrong, malformed or revoked key is 401; a valid one generates', async () => {
    const t = setup({ AUTH_MODE: 'keys' });
    const { key, secret } = await newKey(t);
    await expectError(await gen(t, { prompt: 'x' }, bearer(`ak_${'A'.repeat(32)}`)), 401, 'invalid_api_key');
    await expectError(await gen(t, { prompt: 'x' }, bearer('sk-not-ours')), 401, 'invalid_api_key');
    await expectError(await gen(t, { prompt: 'x' }, { authorization: `Basic ${secret}` }), 401, 'invalid_api_key');
    const ok = await gen(t, { prompt: 'a red apple', seed: 1 }, bearer(secret));
    expect(ok.status).toBe(200);
    await t.deps.access.keys.revoke(key.id);
    const revoked = await expectError(await gen(t, { prompt: 'a red apple', seed: 2 }, bearer(secret)), 401, 'api_key_revoked');
    expect(revoked.message).toContain(key.id);
    expect(t.gen.calls).toHaveLength(1);
  });

  it('stores only the sha256 of the secret', async () => {
    const t = setup();
    const { secret } = await newKey(t);
    expect(secret).toMatch(/^ak_[0-9A-Za-z]{32}$/);
    const [row] = await t.db.select().from(apiKeys);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("enforces the key's origin allowlist on the real request: 403 origin_not_allowed, readable cross-origin", async () => {
    const t = setup({ AUTH_MODE: 'keys' });
    const { secret } = await newKey(t);
    // Preflights carry no key: any origin gets 204 with the headers it asked for.
    const pre = await t.request('/v1/images/generations', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const denied = await expectError(await gen(t, { prompt: 'x', seed: 1 }, bearer(secret, { origin: 'https://evil.example' })), 403, 'origin_not_allowed');
    expect(denied.message).toBe('this API key may not be used from https://evil.example');
    const allowed = await gen(t, { prompt: 'x', seed: 1 }, bearer(secret, { origin: SITE }));
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-expose-headers')).toContain('ratelimit');
    // Servers send no Origin; the gateway's own pages (the demo) may use any key.
    expect((await gen(t, { prompt: 'x', seed: 2 }, bearer(secret))).status).toBe(200);
    expect((await gen(t, { prompt: 'x', seed: 3 }, bearer(secret, { origin: 'http://edge.test' }))).status).toBe(200);
    const any = await newKey(t, 30, ['*']);
    expect((await gen(t, { prompt: 'x', seed: 4 }, bearer(any.secret, { origin: 'https://evil.example' }))).status).toBe(200);
  });

  it('lookups need a key unless ANONYMOUS_LOOKUPS; image PNGs are always public', async () => {
    const closed = setup({ AUTH_MODE: 'keys' });
    const { secret } = await newKey(closed);
    const made = await (await gen(closed, { prompt: 'a red apple', seed: 1 }, bearer(secret))).json();
    for (const path of ['/v1/models', '/v1/cache?prompt=a%20red%20apple&seed=1', '/v1/gallery']) {
      await expectError(await closed.request(path), 401, 'api_key_required');
      expect((await closed.request(path, { headers: bearer(secret) })).status).toBe(200);
    }
    expect((await closed.request(new URL(made.data[0].url).pathname)).status).toBe(200);
    await closed.close();

    const t = setup({ AUTH_MODE: 'keys', ANONYMOUS_LOOKUPS: 'true' });
    expect((await t.request('/v1/models')).status).toBe(200);
    expect((await t.request('/v1/gallery')).status).toBe(200);
    expect((await t.request('/v1/cache?prompt=nothing&seed=1')).status).toBe(404);
    await expectError(await gen(t, { prompt: 'x' }), 401, 'api_key_required');
  });

  it('open mode (the default): no key needed, but a key that is sent is still checked', async () => {
    const t = setup();
    expect((await gen(t, { prompt: 'x', seed: 1 })).status).toBe(200);
    expect((await t.request('/v1/models')).status).toBe(200);
    await expectError(await gen(t, { prompt: 'x', seed: 1 }, bearer(`ak_${'b'.repeat(32)}`)), 401, 'invalid_api_key');
    // A token not shaped like our keys (an SDK's placeholder, a proxy's Basic auth) is no key: anonymous.
    for (const authorization of ['Bearer sk-placeholder', 'Bearer ', `Basic ${btoa('user:pass')}`]) {
      expect((await gen(t, { prompt: 'x', seed: 1 }, { authorization })).status, authorization).toBe(200);
    }
    const { secret } = await newKey(t);
    await expectError(await gen(t, { prompt: 'x', seed: 1 }, bearer(secret, { origin: 'https://evil.example' })), 403, 'origin_not_allowed');
  });
});

describe('rate limits (token buckets in the database)', () => {
  it('a key over its rpm gets 429 with Retry-After and RateLimit headers; cache hits stay free', async () => {
    const t = setup({ AUTH_MODE: 'keys' });
    const { secret } = await newKey(t, 2);
    const first = await gen(t, { prompt: 'a red apple', seed: 1 }, bearer(secret));
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"key";q=2;w=60');
    expect(first.headers.get('ratelimit')).toMatch(/^"key";r=1;t=\d+$/);
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    const second = await gen(t, { prompt: 'a red apple', seed: 2, n: 3 }, bearer(secret));
    expect(second.headers.get('ratelimit-remaining')).toBe('0');

    const limited = await gen(t, { prompt: 'a red apple', seed: 10 }, bearer(secret));
    const error = await expectError(limited, 429, 'rate_limited');
    expect(error.message).toContain('2 generation requests per minute for this API key');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(25);
    expect(retryAfter).toBeLessThanOrEqual(30);
    // `t` means one thing on a 200 and on the 429 that follows (the IETF draft's reset: seconds until
    // the bucket is full again); when the next token is back is Retry-After's job.
    const tOf = (res: Response) => Number(/^"key";r=0;t=(\d+)$/.exec(res.headers.get('ratelimit') ?? '')?.[1]);
    expect(tOf(second)).toBe(60);
    expect(tOf(limited)).toBeGreaterThanOrEqual(59);
    expect(tOf(limited)).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit-reset')).toBe(String(tOf(limited)));
    expect(limited.headers.get('ratelimit-limit')).toBe('2');
    expect(t.gen.calls).toHaveLength(4); // 1 + 3 images, nothing for the refused one

    // Served wholly from the cache: no token needed, no RateLimit headers.
    const hit = await gen(t, { prompt: 'a red apple', seed: 1 }, bearer(secret));
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-aurora-route')).toBe('cache');
    expect(hit.headers.get('ratelimit')).toBeNull();
    // A partial hit must generate, so it is charged.
    expect((await gen(t, { prompt: 'a red apple', seed: 4, n: 2 }, bearer(secret))).status).toBe(429);
  });

  it('anonymous generation is limited per client IP (X-Forwarded-For only with TRUST_PROXY)', async () => {
    const t = setup({ ANON_RPM: '2', TRUST_PROXY: '1' });
    const from = (ip: string) => ({ 'x-forwarded-for': `203.0.113.9, ${ip}` });
    expect((await gen(t, { prompt: 'x', seed: 1 }, from('198.51.100.1'))).headers.get('ratelimit-policy')).toBe('"anonymous";q=2;w=60');
    expect((await gen(t, { prompt: 'x', seed: 2 }, from('198.51.100.1'))).status).toBe(200);
    const limited = await gen(t, { prompt: 'x', seed: 3 }, from('198.51.100.1'));
    expect((await expectError(limited, 429, 'rate_limited')).message).toContain('without an API key');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another client (the proxy's rightmost entry is the one it saw), and IPv6 by /64.
    expect((await gen(t, { prompt: 'x', seed: 3 }, from('198.51.100.2'))).status).toBe(200);
    expect((await gen(t, { prompt: 'x', seed: 4 }, from('2001:db8:1:2::1'))).status).toBe(200);
    expect((await gen(t, { prompt: 'x', seed: 5 }, from('2001:db8:1:2:ffff::9'))).status).toBe(200);
    expect((await gen(t, { prompt: 'x', seed: 6 }, from('2001:db8:1:2:aaaa::7'))).status).toBe(429);
    await t.close();

    // Without TRUST_PROXY the header is ignored: rotating it does not escape the limit.
    const u = setup({ ANON_RPM: '1' });
    expect((await gen(u, { prompt: 'x', seed: 1 }, from('198.51.100.1'))).status).toBe(200);
    expect((await gen(u, { prompt: 'x', seed: 2 }, from('198.51.100.2'))).status).toBe(429);
  });

  it('IP_RPM caps one address using a key, on top of the key rpm', async () => {
    const t = setup({ AUTH_MODE: 'keys', IP_RPM: '1', TRUST_PROXY: '1' });
    const { secret } = await newKey(t, 100);
    const ok = await gen(t, { prompt: 'x', seed: 1 }, bearer(secret, { 'x-forwarded-for': '198.51.100.1' }));
    expect(ok.headers.get('ratelimit-policy')).toBe('"ip";q=1;w=60'); // the tighter of the two buckets
    const limited = await gen(t, { prompt: 'x', seed: 2 }, bearer(secret, { 'x-forwarded-for': '198.51.100.1' }));
    expect((await expectError(limited, 429, 'rate_limited')).message).toContain('this IP address');
    expect((await gen(t, { prompt: 'x', seed: 2 }, bearer(secret, { 'x-forwarded-for': '198.51.100.2' }))).status).toBe(200);
  });

  it('ANON_RPM=0 turns the anonymous limit off', async () => {
    const t = setup({ ANON_RPM: '0' });
    const all = await Promise.all(Array.from({ length: 5 }, (_, i) => gen(t, { prompt: 'x', seed: i })));
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(all[0].headers.get('ratelimit')).toBeNull();
  });
});

describe('gallery, docs, static files', () => {
  it('GET /v1/gallery lists recent cache entries, newest first; GALLERY=false turns it off', async () => {
    const t = setup();
    await gen(t, { prompt: 'first prompt', seed: 1 });
    await new Promise((r) => setTimeout(r, 5));
    await gen(t, { prompt: 'Second   Prompt', seed: 2, n: 2 });
    const res = await t.request('/v1/gallery?limit=2');
    expect(res.status).toBe(200);
    const { data } = await res.json();
    expect(data).toHaveLength(2);
    expect(data[0]).toMatchObject({ prompt: 'second prompt', model: 'aurora-tiny', size: '64x64', route: 'wasm' });
    expect(data[0].url).toMatch(/^http:\/\/edge\.test\/v1\/images\/[0-9a-f]{64}\.[0-9a-f]{16}\.png$/);
    expect((await t.request('/v1/gallery?limit=0')).status).toBe(400);
    await t.close();
    const off = setup({ GALLERY: 'false' });
    await expectError(await off.request('/v1/gallery'), 404, 'gallery_disabled');
  });

  it('/docs is rendered here from the OpenAPI document and loads nothing from another host', async () => {
    const t = setup();
    const res = await t.request('/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('/v1/images/generations');
    expect(html).toContain('GenerateRequest');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/unpkg|jsdelivr|cdnjs/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const demo = await (await t.request('/')).text();
    for (const id of ['prompt', 'seed', 'psi', 'n', 'key', 'generate', 'gallery', 'snippet']) expect(demo).toContain(`id="${id}"`);
    expect(demo).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
  });

  it('serves the embed script, onnxruntime-web and bundle files with the headers embedding pages need', async () => {
    const files: Record<string, Uint8Array> = {
      'embed/embed.js': new TextEncoder().encode('export {};'),
      'ort/ort-wasm-simd-threaded.wasm': new Uint8Array([0, 97, 115, 109]),
      'bundles/aurora-tiny/vocab.txt.gz': new Uint8Array([31, 139, 8, 0]),
    };
    const t = setup({}, { staticFiles: async (p) => (files[p] ? { body: files[p], size: files[p].byteLength, etag: '"e1"' } : null) });
    const js = await t.request('/embed.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=300');
    expect(js.headers.get('access-control-allow-origin')).toBe('*');
    expect(js.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect((await t.request('/embed.js', { headers: { 'if-none-match': '"e1"' } })).status).toBe(304);
    const wasm = await t.request('/ort/ort-wasm-simd-threaded.wasm');
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect((await t.request('/ort/ort.all.mjs')).status).toBe(404);
    const vocab = await t.request('/bundles/aurora-tiny/vocab.txt.gz');
    expect(vocab.headers.get('content-type')).toBe('application/gzip');
    expect(vocab.headers.get('content-encoding')).toBeNull();
    expect(vocab.headers.get('etag')).toBe(`"${t.deps.models.default.manifest.files['vocab.txt.gz'].sha256}"`);
    expect([...new Uint8Array(await vocab.arrayBuffer())]).toEqual([31, 139, 8, 0]);
    const missing = await t.request('/bundles/aurora-tiny/secret.txt');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    expect((await t.request('/bundles/other/manifest.json')).status).toBe(404);
    expect((await t.request('/embed-local-ABC123.js')).status).toBe(404);
  });
});
