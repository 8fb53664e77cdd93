/**
 * Property-based fuzzing of the HTTP API (fast-check) against the real Node gateway: SQLite file,
 * onnxruntime-web in-process and a real GPU runner child process, over loopback. Whatever arrives
 * (random JSON, unicode and lone surrogates, huge/negative/NaN-like numbers, very long prompts,
 * wrong content types, random query strings and paths), the gateway never answers 5xx, every 4xx
 * is a JSON `{ error: { code, message } }`, and it still answers /healthz afterwards.
 * The CLI has its own fuzz test (packages/model/test/cli-fuzz.test.ts).
 * Set FUZZ_SEED to replay a failing run (fast-check prints the seed).
 */
import * as http from 'node:http';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeGateway } from '../apps/edge/src/node.ts';
import { type Answer, call, expectErrorBody, removeTempDirs, startGateway, tempDir } from './support/reliability.ts';

let gateway: NodeGateway;
const seen = new Map<number, number>();

const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
});

beforeAll(async () => {
  const dir = tempDir('aurora-fuzz-');
  // ANON_RPM=0: no per-IP generation limit, so every request reaches validation and generation.
  gateway = await startGateway({ DATABASE_PATH: path.join(dir, 'cache.sqlite'), LOCAL_RUNNER: '1', RUNNER_TIMEOUT_MS: '60000', ANON_RPM: '0' });
});

afterAll(async () => {
  await gateway?.close();
  removeTempDirs();
  console.log(`fuzz: status counts ${JSON.stringify(Object.fromEntries([...seen].sort(([a], [b]) => a - b)))}`);
});

/** The property every answer must have. */
function check(a: Answer, context: string, hasBody = true): void {
  seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
  expect(a.status, `${context} -> ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
  if (a.status >= 400 && hasBody) expectErrorBody(a, context);
  if (hasBody && a.status === 200 && a.headers.get('content-type')?.startsWith('application/json')) expect(a.json, context).toBeTypeOf('object');
}

function post(body: string | Uint8Array, contentType: string | null): Promise<Answer> {
  const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
  return call(`${gateway.url}/v1/images/generations`, { method: 'POST', headers, body: body as BodyInit }, 60_000);
}

const show = (x: unknown) => {
  const s = typeof x === 'string' ? x : x instanceof Uint8Array ? `<${x.byteLength} bytes>` : JSON.stringify(x);
  return s === undefined ? String(x) : s.length > 200 ? `${s.slice(0, 200)}... (${s.length} chars)` : s;
};

// ---- arbitraries -----------------------------------------------------------------------------

const words = fc.constantFrom('a', 'red', 'apple', 'cat', 'in', 'the', 'rain', '🍎', 'über', '日本語', 'naïve', 'ﬁne', '&amp;', 'x'.repeat(40));
const prompt = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates and every plane
  fc.array(words, { minLength: 1, maxLength: 120 }).map((w) => w.join(' ')), // around the 77-token limit
  fc.string({ unit: 'grapheme', minLength: 990, maxLength: 1010 }), // around the 1000-character limit
  fc.string({ minLength: 16_000, maxLength: 40_000 }), // over the body limit
  fc.constantFrom('a red apple', '   ', '', '\u0000', '\u200b\u200b', 'Ａ ＲＥＤ apple', '\ud800', '\udfff x', '\t\n\r', 'a\u0301\u0301\u0301'),
);
const weirdNumber = fc.oneof(
  fc.integer({ min: -3, max: 20 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 0.5, 1.5, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, Number.MAX_VALUE),
  fc.constantFrom('1', '0', 'NaN', 'Infinity', '-1', '1e999', '4294967295', '0x10', ' 1 ', ''),
  fc.constantFrom(null, true, false, [], {}, [1], { value: 1 }),
);
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: weirdNumber }, { weight: 1, arbitrary: fc.string() });
const structuredBody = fc.record(
  {
    prompt: fc.oneof({ weight: 4, arbitrary: prompt }, { weight: 1, arbitrary: weirdNumber }),
    n: field(fc.integer({ min: 1, max: 16 })),
    seed: field(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    truncation_psi: field(fc.double({ min: 0, max: 1, noNaN: true })),
    model: field(fc.constantFrom('aurora-tiny', 'nope', 'AURORA-TINY', '__proto__', 'constructor', 'toString', '')),
    size: field(fc.constantFrom('64x64', '128x128', '64X64', '0x0', '99999999999999999999x1', '-1x-1')),
    response_format: field(fc.constantFrom('url', 'b64_json', 'png', 'URL')),
    cache: field(fc.constantFrom('use', 'refresh', 'only', 'never')),
    __proto__: fc.constantFrom({ polluted: true }, null, 'x'),
    constructor: fc.constantFrom({ prototype: { x: 1 } }, 'x'),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

/** A valid request with one field (sometimes two) replaced by a random, weird or mistyped value. */
const validBody = fc.record({
  prompt: fc.oneof(
    fc.array(words, { minLength: 1, maxLength: 8 }).map((w) => w.join(' ')),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  ),
  n: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 2 }) }, { weight: 1, arbitrary: fc.integer({ min: 3, max: 16 }) }),
  seed: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2 ** 32 - 20, max: 2 ** 32 - 1 })),
  truncation_psi: fc.constantFrom(0, 0.5, 0.7, 1, 1e-9),
  response_format: fc.constantFrom('url', 'b64_json'),
  cache: fc.constantFrom('use', 'use', 'refresh', 'only'),
});
const nearlyValidBody = fc
  .tuple(validBody, structuredBody, fc.subarray(['prompt', 'n', 'seed', 'truncation_psi', 'model', 'size', 'response_format', 'cache'], { maxLength: 2 }))
  .map(([valid, weird, replace]) => {
    const out: Record<string, unknown> = { ...valid };
    for (const k of replace) {
      if (k in weird) out[k] = (weird as Record<string, unknown>)[k];
      else delete out[k];
    }
    return out;
  });

/** JSON texts that JSON.stringify never writes: bare NaN/Infinity, huge exponents, leading zeros, hex, duplicated keys. */
const numberText = fc.oneof(
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '1e-999', '-0', '0.0', '01', '0x10', '+1', '.5', '1.', '9007199254740993'),
  fc.constantFrom('18446744073709551616', '4294967296', '4294967295', '1E2', '1e+2', '2.0', '-1', '"1"', 'null', '[1]', '{"$numberLong":"1"}'),
  fc.double().map((x) => JSON.stringify(x)),
  fc.bigInt().map(String),
);
const rawJsonBody = fc
  .record({ prompt: prompt.map((p) => JSON.stringify(p)), n: numberText, seed: numberText, psi: numberText, dup: fc.boolean() })
  .map(({ prompt, n, seed, psi, dup }) => `{"prompt":${prompt},"n":${n},"seed":${seed},"truncation_psi":${psi}${dup ? ',"n":1,"n":2' : ''}}`);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/json-patch+json',
    'application/vnd.api+json',
    'text/json',
    'text/plain',
    'text/html',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'multipart/form-data',
    'application/octet-stream',
    'image/png',
    '*/*',
    '',
    'json',
    ';;;',
  ),
  fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
);
const anyBody = fc.oneof(
  fc.json(),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }), // invalid UTF-8 included
  structuredBody.map((b) => JSON.stringify(b)),
  fc.constantFrom(
    '',
    'prompt=a+red+apple&n=1',
    '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na red apple\r\n--xyz--\r\n',
    '\ufeff{"prompt":"a"}',
  ),
);

// ---- properties ------------------------------------------------------------------------------

describe('HTTP API fuzzing (real Node gateway, fast-check)', () => {
  it('random JSON documents as the generation body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ depthSize: 'small' }), async (text) => check(await post(text, 'application/json'), show(text))),
      params(300),
    );
  });

  it('arbitrary values mapped to JSON (objects, arrays, -0, NaN/Infinity -> null, __proto__ keys)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }), async (value) => {
        const text = JSON.stringify(value) ?? 'undefined';
        check(await post(text, 'application/json'), show(text));
      }),
      params(300),
    );
  });

  it('generation bodies with random, huge, negative, fractional and mistyped fields and unicode or long prompts', async () => {
    await fc.assert(
      fc.asyncProperty(structuredBody, async (body) => {
        const a = await post(JSON.stringify(body), 'application/json');
        check(a, show(body));
        if (a.status === 200) {
          const json = a.json as { data: { id: string }[] };
          expect(json.data.length, show(body)).toBe(typeof body.n === 'number' ? body.n : 1);
        }
      }),
      params(400),
    );
  });

  it('nearly valid generation bodies (one or two fields off): images or a 4xx, never a 5xx', async () => {
    let ok = 0;
    await fc.assert(
      fc.asyncProperty(nearlyValidBody, async (body) => {
        const a = await post(JSON.stringify(body), 'application/json');
        check(a, show(body));
        if (a.status === 200) {
          ok++;
          const json = a.json as { data: { id: string; seed: number }[]; seed: number };
          expect(json.data.length, show(body)).toBe(typeof body.n === 'number' ? body.n : 1);
          expect(new Set(json.data.map((d) => d.id)).size).toBe(json.data.length);
          expect(json.data.map((d) => d.seed)).toEqual(json.data.map((_, i) => json.seed + i));
        }
      }),
      params(120),
    );
    expect(ok).toBeGreaterThan(10); // the property must also have exercised the success path
  });

  it('chunked (streamed) bodies of any size, below and above the body limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 1, max: 8 }), async (size, chunks) => {
        const text = JSON.stringify({ prompt: 'a red apple', n: 1, seed: 3, pad: 'x'.repeat(size) });
        const bytes = new TextEncoder().encode(text);
        const step = Math.ceil(bytes.length / chunks);
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < bytes.length; i += step) controller.enqueue(bytes.subarray(i, i + step));
            controller.close();
          },
        });
        const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit;
        const a = await call(`${gateway.url}/v1/images/generations`, init);
        check(a, `chunked ${bytes.length} bytes`);
        expect(a.status, `chunked ${bytes.length} bytes`).toBe(bytes.length > 16_384 ? 413 : 200);
      }),
      params(30),
    );
  });

  it('an oversized body is refused with Connection: close, and the next request on a keep-alive client still succeeds', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: string) =>
      new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
        const req = http.request(
          `${gateway.url}/v1/images/generations`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      for (let i = 0; i < 5; i++) {
        const big = await send(JSON.stringify({ prompt: 'a red apple', pad: 'x'.repeat(400_000) }));
        expect(big.status).toBe(413);
        expect(big.connection).toBe('close');
        expect(JSON.parse(big.text).error.code).toBe('payload_too_large');
        const small = await send(JSON.stringify({ prompt: 'a red apple', seed: 3 }));
        expect(small.status, small.text).toBe(200);
      }
    } finally {
      agent.destroy();
    }
  });

  it('hand-written JSON texts with NaN-like, overflowing and non-JSON numbers and duplicate keys', async () => {
    await fc.assert(
      fc.asyncProperty(rawJsonBody, async (text) => check(await post(text, 'application/json'), show(text))),
      params(300),
    );
  });

  it('wrong, odd and missing content types with arbitrary bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(contentType, { nil: null }), anyBody, async (type, body) => {
        const a = await post(body, type);
        check(a, `${type} ${show(body)}`);
      }),
      params(400),
    );
  });

  it('random query strings for GET /v1/cache', async () => {
    const key = fc.constantFrom('prompt', 'seed', 'psi', 'model', 'size', 'response_format', 'prompt[]', 'x', '__proto__', '');
    const value = fc.oneof(
      prompt.filter((p) => p.length < 2000),
      numberText,
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.constantFrom('b64_json', 'url', '64x64'),
    );
    const encoded = fc
      .array(fc.tuple(key, value), { maxLength: 7 })
      .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, 'x'))}`).join('&'));
    // Raw text: malformed percent-escapes (%, %zz, %ff = invalid UTF-8), repeated separators, unicode.
    const raw = fc.string({
      unit: fc.constantFrom('%', 'z', 'f', 'F', '0', '8', '&', '=', '+', 'é', '🍎', 'p', 'seed', 'prompt', 'psi', '.', '-', 'e', '9'),
      maxLength: 40,
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(encoded, raw), async (query) => {
        const a = await call(`${gateway.url}/v1/cache?${query}`);
        check(a, `/v1/cache?${query}`);
        expect([200, 400, 404], `/v1/cache?${query}`).toContain(a.status);
      }),
      params(400),
    );
  });

  it('random methods and paths', async () => {
    const segment = fc.oneof(
      fc.webSegment(),
      fc.constantFrom(
        'v1',
        'images',
        'generations',
        'cache',
        'models',
        'healthz',
        '..',
        '.',
        '%2e%2e',
        '%00',
        '%ff',
        '%',
        'x.png',
        `${'a'.repeat(64)}.png`,
        '.png',
        'openapi.json',
      ),
      fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
    );
    const pathArb = fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`);
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
    await fc.assert(
      fc.asyncProperty(method, pathArb, fc.option(fc.constantFrom('*', 'W/"x"', '"abc", W/"def"', '""', 'garbage'), { nil: undefined }), async (m, p, inm) => {
        const headers: Record<string, string> = inm ? { 'if-none-match': inm } : {};
        const withBody = m === 'POST' || m === 'PUT' || m === 'PATCH';
        if (withBody) headers['content-type'] = 'application/json';
        const a = await call(`${gateway.url}${p}`, { method: m, headers, body: withBody ? '{"prompt":"a red apple","n":1,"seed":1}' : undefined });
        check(a, `${m} ${p}`, m !== 'HEAD'); // a HEAD answer has no body to check
      }),
      params(400),
    );
  });

  it('random Authorization headers (open mode): 401 JSON for an unknown key of ours, anything else is anonymous', async () => {
    const keyShaped = /^Bearer[ \t]+ak_[0-9A-Za-z]{32}[ \t]*$/i;
    const header = fc.oneof(
      fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      fc
        .string({ maxLength: 60 })
        .filter((s) => /^[\x21-\x7e]*$/.test(s))
        .map((s) => `Bearer ${s}`),
      fc.stringMatching(/^[0-9A-Za-z]{32}$/).map((s) => `Bearer ak_${s}`),
      fc.constantFrom('Bearer', 'Bearer ', 'bearer ak_live_x', 'Basic dXNlcjpwYXNz', 'Bearer ak_' + 'x'.repeat(500), 'Bearer a b', `bearer ak_${'Z'.repeat(32)}`),
    );
    const target = fc.constantFrom('/v1/images/generations', '/v1/cache?prompt=a%20red%20apple&seed=1', '/v1/models');
    // Cached first, so an anonymous lookup answers 200 whichever target comes first.
    expect((await post('{"prompt":"a red apple","seed":1}', 'application/json')).status).toBe(200);
    await fc.assert(
      fc.asyncProperty(header, target, async (h, t) => {
        const post = t === '/v1/images/generations';
        const a = await call(`${gateway.url}${t}`, {
          method: post ? 'POST' : 'GET',
          headers: { authorization: h, ...(post ? { 'content-type': 'application/json' } : {}) },
          body: post ? '{"prompt":"a red apple","seed":1}' : undefined,
        });
        if (keyShaped.test(h.trim())) {
          check(a, `Authorization: ${h} on ${t}`);
          expect(a.status, `Authorization: ${h}`).toBe(401);
          expect(expectErrorBody(a).code).toBe('invalid_api_key');
        } else {
          // Not one of our keys (an SDK placeholder, a proxy's Basic auth): the anonymous answer.
          expect(a.status, `Authorization: ${h} on ${t}`).toBe(200);
        }
      }),
      params(150),
    );
  });

  it('random If-None-Match headers on a real image', async () => {
    const made = await post(JSON.stringify({ prompt: 'a lighthouse for etags', seed: 5 }), 'application/json');
    const url = new URL((made.json as { data: { url: string }[] }).data[0].url);
    const etag = (await call(url.href)).headers.get('etag')!;
    const header = fc.oneof(
      fc.string({ maxLength: 100 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      fc.array(fc.constantFrom(etag, `W/${etag}`, '*', '"x"', 'W/', ',', ' ', '""'), { maxLength: 5 }).map((t) => t.join(', ')),
    );
    await fc.assert(
      fc.asyncProperty(header, async (h) => {
        const a = await call(url.href, { headers: { 'if-none-match': h } });
        check(a, `If-None-Match: ${h}`);
        expect([200, 304]).toContain(a.status);
      }),
      params(100),
    );
  });

  it('still healthy afterwards, and the cache still serves', async () => {
    const health = await call(`${gateway.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ ok: true, runners: [{ healthy: true }] });
    const body = { prompt: 'a red apple after the storm', n: 1, seed: 9 };
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    expect((await call(`${gateway.url}/v1/images/generations`, init)).status).toBe(200);
    const again = await call(`${gateway.url}/v1/images/generations`, init);
    expect(again.headers.get('x-aurora-route')).toBe('cache');
  });
});
