/**
 * The SDK against the real gateway: createApp over in-memory SQLite and the aurora-tiny bundle
 * (apps/edge/test/support/deps.ts, as the gateway's own tests build it; its in-process generator
 * is a deterministic fake, everything else is the gateway's code), served on a loopback port by the
 * Node gateway's own listener. Bodies, status codes, image ids and URLs, CORS, Retry-After and
 * RateLimit headers are therefore the gateway's. The one answer it never gives, a proxy's HTML
 * error page, comes from a small node:http server named for what it simulates.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../apps/edge/src/node/http-server.ts';
import { testApp } from '../../../apps/edge/test/support/deps.ts';
import { AuroraApiError, AuroraClient, parseRateLimit, parseRetryAfter } from '../src/index.ts';
import { rejection } from './support/rejection.ts';

interface Seen {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: string;
}

const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException() {}, props: {} };
const IMAGE_ID = /^[0-9a-f]{64}$/;
/** A key-shaped secret the gateway never issued. */
const UNKNOWN_KEY = `ak_${'x'.repeat(32)}`;

/** Stands in for a reverse proxy in front of the gateway answering with its own HTML error page (the gateway's errors are always JSON). */
function startHtmlErrorProxy(): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html>Bad gateway</html>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const urlOf = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const close = (server: http.Server | undefined) =>
  new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe('AuroraClient against the real gateway app (AUTH_MODE=keys, on a loopback port)', () => {
  let t: ReturnType<typeof testApp>;
  let server: http.Server;
  let base = '';
  let key = '';
  const seen: Seen[] = [];
  const last = () => seen[seen.length - 1];
  let release = () => {};

  beforeAll(async () => {
    t = testApp({ AUTH_MODE: 'keys' });
    ({ secret: key } = await t.deps.access.keys.create({ name: 'sdk', origins: ['*'], rpm: 10 }));
    server = await listen(
      async (req, bindings) => {
        seen.push({ method: req.method, url: new URL(req.url), headers: new Headers(req.headers), body: await req.clone().text() });
        return t.app.fetch(req, bindings, ctx);
      },
      0,
      '127.0.0.1',
    );
    base = urlOf(server);
  });
  afterAll(async () => {
    release();
    await close(server);
    await t?.close();
  });

  it('generates: sends the key and the JSON body; returns the images, route and rate-limit headers', async () => {
    const client = new AuroraClient({ baseUrl: `${base}/`, apiKey: key });
    const request = { prompt: 'a red apple', n: 2, seed: 7, truncation_psi: 0.5, model: 'aurora-tiny', response_format: 'url', cache: 'use' } as const;
    const before = Math.floor(Date.now() / 1000);
    const out = await client.generate(request);
    expect(last().method).toBe('POST');
    expect(last().url.pathname).toBe('/v1/images/generations');
    expect(last().headers.get('authorization')).toBe(`Bearer ${key}`);
    expect(last().headers.get('content-type')).toBe('application/json');
    expect(last().headers.get('accept')).toBe('application/json');
    expect(JSON.parse(last().body)).toEqual(request);

    expect(out).toMatchObject({ model: 'aurora-tiny', seed: 7, truncation_psi: 0.5, size: '64x64', route: 'wasm' });
    expect(out.created).toBeGreaterThanOrEqual(before);
    expect(out.data.map((d) => [d.seed, d.cached, d.route])).toEqual([
      [7, false, 'wasm'],
      [8, false, 'wasm'],
    ]);
    for (const d of out.data) {
      expect(d.id).toMatch(IMAGE_ID);
      // The versioned URL, absolute, on the gateway's origin: /v1/images/<id>.<16 hex of the ETag>.png.
      expect(d.url).toMatch(new RegExp(`^${base}/v1/images/${d.id}\\.[0-9a-f]{16}\\.png$`));
      expect(d.b64_json).toBeUndefined();
    }
    expect(out.data[0].id).not.toBe(out.data[1].id);
    // The key's bucket: 10 a minute, one spent, full again in 60/10 s.
    expect(out.rateLimit).toEqual({ limit: 10, remaining: 9, reset: 6, raw: '"key";r=9;t=6' });
  });

  it('downloads an image by its versioned url and by imageUrl(id), as the PNG with its ETag', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: key });
    const [made] = (await client.generate({ prompt: 'a blue cube', seed: 3 })).data;
    const versioned = await fetch(made.url!);
    const current = await fetch(client.imageUrl(made.id));
    expect(client.imageUrl(made.id)).toBe(`${base}/v1/images/${made.id}.png`);
    for (const res of [versioned, current]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(made.url).toContain(`.${res.headers.get('etag')!.slice(1, 17)}.png`);
    }
    const [a, b] = await Promise.all([versioned.arrayBuffer(), current.arrayBuffer()]);
    expect(Buffer.from(a).subarray(1, 4).toString()).toBe('PNG');
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(() => client.imageUrl('../etc')).toThrow(TypeError);
  });

  it('turns 401 (no key, unknown key), 400 (with field), 429 and 503 (with Retry-After) into AuroraApiError', async () => {
    const anonymous = await rejection(new AuroraClient({ baseUrl: base }).generate({ prompt: 'x' }));
    expect(last().headers.get('authorization')).toBeNull();
    expect(anonymous).toMatchObject({ status: 401, code: 'api_key_required', isAuthError: true, isRateLimited: false });
    expect(anonymous.message).toMatch(/needs an API key for generation/);
    const unknown = await rejection(new AuroraClient({ baseUrl: base, apiKey: UNKNOWN_KEY }).generate({ prompt: 'x' }));
    expect(unknown).toMatchObject({ status: 401, code: 'invalid_api_key', message: 'unknown API key', isAuthError: true });

    const client = new AuroraClient({ baseUrl: base, apiKey: key });
    const empty = await rejection(client.generate({ prompt: '' }));
    expect(empty).toMatchObject({ status: 400, code: 'invalid_request', field: 'prompt', retryAfter: undefined });
    expect(empty.message).toMatch(/^prompt: must not be empty/);

    // No GPU runner here: 16 images are more than the in-process fallback runs (4), so 503 with RETRY_AFTER_S (5).
    const noRunner = await rejection(client.generate({ prompt: 'a big batch', n: 16 }));
    expect(noRunner).toMatchObject({ status: 503, code: 'no_runner', retryAfter: 5, isRateLimited: false });

    const { secret: oneAMinute } = await t.deps.access.keys.create({ name: 'one', origins: ['*'], rpm: 1 });
    const limitedClient = new AuroraClient({ baseUrl: base, apiKey: oneAMinute });
    await limitedClient.generate({ prompt: 'a green pear', seed: 1 });
    const limited = await rejection(limitedClient.generate({ prompt: 'a green pear', seed: 2 }));
    expect(limited).toMatchObject({
      status: 429,
      code: 'rate_limited',
      message: 'rate limit reached: 1 generation requests per minute for this API key',
      isRateLimited: true,
      url: `${base}/v1/images/generations`,
    });
    // The one token comes back a minute after it was spent: 60 s, less the time since the first call.
    const wait = limited.retryAfter!;
    expect(wait).toBeGreaterThanOrEqual(50);
    expect(wait).toBeLessThanOrEqual(60);
    expect(limited.rateLimit).toEqual({ limit: 1, remaining: 0, reset: wait, raw: `"key";r=0;t=${wait}` });
    // A cache hit is free: the same image again is served although the bucket is empty.
    expect((await limitedClient.generate({ prompt: 'a green pear', seed: 1 })).route).toBe('cache');
  });

  it('reports a non-JSON error body by status, and an unreachable server as status 0', async () => {
    const proxy = await startHtmlErrorProxy();
    try {
      const e502 = await rejection(new AuroraClient({ baseUrl: urlOf(proxy), apiKey: key }).generate({ prompt: 'x' }));
      expect(e502).toMatchObject({ status: 502, code: 'http_502' });
      expect(e502.message).toContain('<html>Bad gateway</html>');
    } finally {
      await close(proxy);
    }

    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const gone = urlOf(closed);
    await close(closed);
    const down = await rejection(new AuroraClient({ baseUrl: gone }).models());
    expect(down).toMatchObject({ status: 0, code: 'network_error' });
    expect(down.message).toContain('CORS');
  });

  it('passes an abort or a timeout through as itself, not as an API error', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: key });
    // The generator waits until released, so the requests are still in flight when their signals fire.
    t.gen.gate = new Promise<void>((resolve) => (release = resolve));
    try {
      const controller = new AbortController();
      const pending = client.generate({ prompt: 'a slow lighthouse', seed: 1 }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const aborted = await pending.catch((e) => e);
      expect(aborted).not.toBeInstanceOf(AuroraApiError);
      expect(aborted.name).toBe('AbortError');

      const timedOut = await client.generate({ prompt: 'a slow lighthouse', seed: 2 }, { signal: AbortSignal.timeout(50) }).catch((e) => e);
      expect(timedOut).not.toBeInstanceOf(AuroraApiError);
      expect(timedOut.name).toBe('TimeoutError');
    } finally {
      release();
      t.gen.gate = null;
    }
  });

  it('looks an image up in the cache (null when not cached), inline as b64_json on request', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: key });
    const made = await client.generate({ prompt: 'a b', seed: 1, truncation_psi: 0.7 });
    const entry = await client.lookup({ prompt: 'a b', seed: 1, model: 'aurora-tiny', psi: 0.7 });
    expect(last().method).toBe('GET');
    expect(last().url.pathname).toBe('/v1/cache');
    expect(last().url.searchParams.toString()).toBe('prompt=a+b&seed=1&model=aurora-tiny&psi=0.7');
    expect(last().headers.get('authorization')).toBe(`Bearer ${key}`);
    expect(entry).toMatchObject({
      id: made.data[0].id,
      url: made.data[0].url,
      model: 'aurora-tiny',
      prompt: 'a b',
      seed: 1,
      truncation_psi: 0.7,
      size: '64x64',
      route: 'wasm',
    });
    expect(entry!.b64_json).toBeUndefined();
    expect(entry!.bytes).toBeGreaterThan(0);

    const inline = await client.lookup({ prompt: 'a b', seed: 1, psi: 0.7, size: '64x64', response_format: 'b64_json' });
    const png = Buffer.from(await (await fetch(made.data[0].url!)).arrayBuffer());
    expect(Buffer.from(inline!.b64_json!, 'base64').equals(png)).toBe(true);
    expect(inline!.bytes).toBe(png.byteLength);

    expect(await client.lookup({ prompt: 'a b', seed: 2, psi: 0.7 })).toBeNull();
    const wrongSize = await rejection(client.lookup({ prompt: 'a b', seed: 1, size: '32x32' }));
    expect([wrongSize.status, wrongSize.code, wrongSize.field]).toEqual([400, 'invalid_request', 'size']);
    const anonymous = await rejection(new AuroraClient({ baseUrl: base }).lookup({ prompt: 'a b', seed: 1 }));
    expect([anonymous.status, anonymous.code]).toEqual([401, 'api_key_required']);
  });

  it('lists the models as GET /v1/models does', async () => {
    const models = await new AuroraClient({ baseUrl: base, apiKey: key }).models();
    const listed = await (await t.request('/v1/models', { headers: { authorization: `Bearer ${key}` } })).json();
    expect(models).toEqual(listed.data);
    expect(models.map((m) => [m.id, m.object, m.size])).toEqual([['aurora-tiny', 'model', '64x64']]);
    expect(models[0].content_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('checks arguments before sending, naming the field', async () => {
    expect(() => new AuroraClient({ baseUrl: 'not a url' })).toThrow(/baseUrl/);
    expect(() => new AuroraClient({ baseUrl: 'ftp://x' })).toThrow(/baseUrl/);
    expect(() => new AuroraClient({ baseUrl: base, apiKey: 'a b' })).toThrow(/apiKey/);
    const client = new AuroraClient({ baseUrl: base });
    const sent = seen.length;
    await expect(client.generate({ prompt: 'x', n: 17 })).rejects.toThrow(/^n must/);
    await expect(client.generate({ prompt: 'x', seed: -1 })).rejects.toThrow(/^seed must/);
    await expect(client.generate({ prompt: 'x', truncation_psi: 2 })).rejects.toThrow(/^truncation_psi must/);
    await expect(client.generate({ prompt: 'x', response_format: 'png' as 'url' })).rejects.toThrow(/^response_format/);
    await expect(client.generate({ prompt: 'x', cache: 'always' as 'use' })).rejects.toThrow(/^cache must/);
    // Streamed answers are SSE: generate() refuses to ask for one it could not read.
    await expect(client.generate({ prompt: 'x', stream: true } as never)).rejects.toThrow(/^stream is not supported by generate\(\)/);
    await expect(client.generate({ prompt: 'x', partial_images: 2 } as never)).rejects.toThrow(/^partial_images is not supported/);
    await expect(client.lookup({ prompt: 'x', seed: undefined as unknown as number })).rejects.toThrow(/^seed is required/);
    expect(seen.length).toBe(sent);
  });
});

describe('header parsing', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('12')).toBe(12);
    expect(parseRetryAfter(new Date(1_000_000 + 30_000).toUTCString(), 1_000_000)).toBe(30);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('reads the RateLimit headers of drafts 6, 7 and 8', () => {
    expect(parseRateLimit(new Headers({ 'ratelimit-limit': '5', 'ratelimit-remaining': '4', 'ratelimit-reset': '9' }))).toMatchObject({
      limit: 5,
      remaining: 4,
      reset: 9,
    });
    expect(parseRateLimit(new Headers({ ratelimit: 'limit=5, remaining=4, reset=9' }))).toMatchObject({ limit: 5, remaining: 4, reset: 9 });
    expect(parseRateLimit(new Headers({ ratelimit: '"default";r=4;t=9', 'ratelimit-policy': '"default";q=5;w=60' }))).toMatchObject({
      limit: 5,
      remaining: 4,
      reset: 9,
    });
    expect(parseRateLimit(new Headers())).toBeNull();
  });
});
