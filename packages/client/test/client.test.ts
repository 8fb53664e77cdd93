import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuroraApiError, AuroraClient, parseRateLimit, parseRetryAfter } from '../src/index.ts';

interface Seen {
  method?: string;
  url?: string;
  headers?: http.IncomingHttpHeaders;
  body?: string;
}

/** A tiny real HTTP server speaking the gateway's API shapes (not a fetch mock). */
function startServer(seen: Seen): Promise<http.Server> {
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      Object.assign(seen, { method: req.method, url: req.url, headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/v1/models') return json(res, 200, { data: [{ id: 'aurora-tiny', resolution: 64 }] });
      if (url.pathname === '/v1/cache') {
        if (url.searchParams.get('seed') === '2') return json(res, 404, { error: { code: 'not_cached', message: 'not in the cache' } });
        return json(res, 200, { created: 1, data: [{ url: '/v1/images/abc.png', seed: Number(url.searchParams.get('seed')), cached: true }] });
      }
      if (url.pathname !== '/v1/images/generations') return json(res, 404, { error: { code: 'not_found', message: 'no such route' } });
      if (req.headers.authorization !== 'Bearer good-key') return json(res, 401, { error: { code: 'invalid_api_key', message: 'unknown API key' } });
      const request = JSON.parse(body);
      if (request.prompt === 'slow') return setTimeout(() => json(res, 200, { created: 1, data: [] }), 2000);
      if (request.prompt === '') return json(res, 400, { error: { code: 'invalid_request', message: 'prompt: must not be empty', field: 'prompt' } });
      if (request.prompt === 'rate') {
        return json(
          res,
          429,
          { error: { code: 'rate_limited', message: 'too many requests' } },
          { 'retry-after': '7', ratelimit: 'limit=10, remaining=0, reset=7' },
        );
      }
      if (request.prompt === 'proxy') {
        res.writeHead(502, { 'content-type': 'text/html' });
        return res.end('<html>Bad gateway</html>');
      }
      const data = Array.from({ length: request.n ?? 1 }, (_, i) => ({ url: `/v1/images/id${i}.png`, seed: (request.seed ?? 5) + i, cached: false }));
      json(res, 200, { created: 1700000000, data }, { 'x-aurora-route': 'wasm', 'ratelimit-limit': '10', 'ratelimit-remaining': '9', 'ratelimit-reset': '60' });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('AuroraClient against a real HTTP server', () => {
  const seen: Seen = {};
  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    server = await startServer(seen);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('generates: sends the key and JSON body, returns absolute URLs, route and rate-limit headers', async () => {
    const client = new AuroraClient({ baseUrl: `${base}/`, apiKey: 'good-key' });
    const out = await client.generate({
      prompt: 'a red apple',
      n: 2,
      seed: 7,
      truncation_psi: 0.5,
      model: 'aurora-tiny',
      response_format: 'url',
      cache: 'use',
    });
    expect(seen.method).toBe('POST');
    expect(seen.headers?.authorization).toBe('Bearer good-key');
    expect(seen.headers?.['content-type']).toBe('application/json');
    expect(JSON.parse(seen.body ?? '')).toEqual({
      prompt: 'a red apple',
      n: 2,
      seed: 7,
      truncation_psi: 0.5,
      model: 'aurora-tiny',
      response_format: 'url',
      cache: 'use',
    });
    expect(out.data).toEqual([
      { url: `${base}/v1/images/id0.png`, seed: 7, cached: false },
      { url: `${base}/v1/images/id1.png`, seed: 8, cached: false },
    ]);
    expect(out.created).toBe(1700000000);
    expect(out.route).toBe('wasm');
    expect(out.rateLimit).toMatchObject({ limit: 10, remaining: 9, reset: 60 });
  });

  it('turns 401, 400 (with field) and 429 (with Retry-After) into AuroraApiError', async () => {
    const anonymous = new AuroraClient({ baseUrl: base });
    const e401 = await anonymous.generate({ prompt: 'x' }).catch((e) => e);
    expect(e401).toBeInstanceOf(AuroraApiError);
    expect(e401).toMatchObject({ status: 401, code: 'invalid_api_key', message: 'unknown API key', isAuthError: true });
    expect(seen.headers?.authorization).toBeUndefined();

    const client = new AuroraClient({ baseUrl: base, apiKey: 'good-key' });
    await expect(client.generate({ prompt: '' })).rejects.toMatchObject({ status: 400, code: 'invalid_request', field: 'prompt' });
    const e429 = await client.generate({ prompt: 'rate' }).catch((e) => e);
    expect(e429).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 7, isRateLimited: true });
    expect(e429.rateLimit).toMatchObject({ limit: 10, remaining: 0, reset: 7 });
  });

  it('reports a non-JSON error body by status, and an unreachable server as status 0', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: 'good-key' });
    const e502 = await client.generate({ prompt: 'proxy' }).catch((e) => e);
    expect(e502).toMatchObject({ status: 502, code: 'http_502' });
    expect(e502.message).toContain('<html>Bad gateway</html>');

    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const down = await new AuroraClient({ baseUrl: `http://127.0.0.1:${port}` }).models().catch((e) => e);
    expect(down).toMatchObject({ status: 0, code: 'network_error' });
    expect(down.message).toContain('CORS');
  });

  it('passes an abort through as the abort, not as an API error', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: 'good-key' });
    const controller = new AbortController();
    const pending = client.generate({ prompt: 'slow' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await pending.catch((e) => e);
    expect(error).not.toBeInstanceOf(AuroraApiError);
    expect(error.name).toBe('AbortError');
  });

  it('looks up the cache (null on 404), lists models, and builds image URLs', async () => {
    const client = new AuroraClient({ baseUrl: base, apiKey: 'good-key' });
    expect(await client.lookup({ prompt: 'a b', seed: 1, model: 'aurora-tiny', psi: 0.7 })).toEqual({
      url: `${base}/v1/images/abc.png`,
      seed: 1,
      cached: true,
    });
    expect(new URL(seen.url ?? '', base).searchParams.toString()).toBe('prompt=a+b&seed=1&model=aurora-tiny&psi=0.7');
    expect(await client.lookup({ prompt: 'a b', seed: 2 })).toBeNull();
    expect(await client.models()).toEqual([{ id: 'aurora-tiny', resolution: 64 }]);
    expect(client.imageUrl('f'.repeat(64))).toBe(`${base}/v1/images/${'f'.repeat(64)}.png`);
    expect(() => client.imageUrl('../etc')).toThrow(TypeError);
  });

  it('checks arguments before sending, naming the field', async () => {
    expect(() => new AuroraClient({ baseUrl: 'not a url' })).toThrow(/baseUrl/);
    expect(() => new AuroraClient({ baseUrl: 'ftp://x' })).toThrow(/baseUrl/);
    const client = new AuroraClient({ baseUrl: base });
    await expect(client.generate({ prompt: 'x', n: 17 })).rejects.toThrow(/^n must/);
    await expect(client.generate({ prompt: 'x', seed: -1 })).rejects.toThrow(/^seed must/);
    await expect(client.generate({ prompt: 'x', truncation_psi: 2 })).rejects.toThrow(/^truncation_psi must/);
    await expect(client.generate({ prompt: 'x', response_format: 'png' as 'url' })).rejects.toThrow(/^response_format/);
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
