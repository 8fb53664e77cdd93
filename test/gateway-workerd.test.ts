import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertSql, prepareKey } from '../apps/edge/src/auth/keys.ts';
import { type LocalRunner, startReadyLocalRunner } from '../apps/edge/src/node/runner-process.ts';
import { gatewayContract } from './support/gateway-contract.ts';
import { type Worker, startWorker, wranglerD1 } from './support/workerd.ts';

// The Worker in workerd itself (wrangler's unstable_startWorker: the real wrangler.toml, its build
// step, static assets, local D1 with /migrations applied by `wrangler d1 migrations apply`), with a
// real apps/gpu-runner process as its runner.
let dir: string;
const SITE = 'https://shop.example';
// Keys as Workers get them: the SQL `aurora keys create --print-sql` prints, run by `wrangler d1 execute`.
const apiKey = prepareKey({ name: 'workerd', origins: [SITE], rpm: 30 }, Date.now());
const tightKey = prepareKey({ name: 'workerd-tight', origins: ['*'], rpm: 1 }, Date.now());

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-workerd-'));
  wranglerD1(dir, 'migrations', 'apply', 'DB');
  wranglerD1(dir, 'execute', 'DB', '--command', `${insertSql(apiKey.row)} ${insertSql(tightKey.row)}`);
});

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('workerd, D1 rows, one GPU runner', () => {
  let runner: LocalRunner;
  let started: { worker: Worker; base: string };

  beforeAll(async () => {
    runner = await startReadyLocalRunner({ secret: randomBytes(24).toString('hex'), log: () => undefined });
    started = await startWorker(dir, {
      RUNNERS: { type: 'plain_text', value: runner.url },
      RUNNER_SHARED_SECRET: { type: 'plain_text', value: runner.secret },
      WASM_MAX_BATCH: { type: 'plain_text', value: '2' },
    });
  });

  afterAll(async () => {
    await started?.worker.dispose();
    await runner?.stop();
  });

  gatewayContract('workerd', () => ({ fetch: (p, init) => fetch(`${started.base}${p}`, init) }));
});

describe('workerd, PNGs in R2, AUTH_MODE=keys', () => {
  let started: { worker: Worker; base: string };

  beforeAll(async () => {
    started = await startWorker(dir, {
      IMAGES: { type: 'r2_bucket', bucket_name: 'aurora-edge-test-images' },
      AUTH_MODE: { type: 'plain_text', value: 'keys' },
      ANONYMOUS_LOOKUPS: { type: 'plain_text', value: 'true' },
    });
  });

  afterAll(async () => {
    await started?.worker.dispose();
  });

  it('stores, serves and re-serves images through the IMAGES bucket', async () => {
    const post = (body: object) =>
      fetch(`${started.base}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey.secret}` },
        body: JSON.stringify(body),
      });
    const body = { prompt: `stored in r2 ${Date.now()}`, seed: 5, response_format: 'b64_json' };
    const first = await post(body);
    expect(first.headers.get('x-aurora-route')).toBe('wasm');
    const made = (await first.json()).data[0];
    const again = await post(body);
    expect(again.headers.get('x-aurora-route')).toBe('cache');
    expect((await again.json()).data[0].b64_json).toBe(made.b64_json);
    const image = await fetch(`${started.base}/v1/images/${made.id}.png`);
    expect(image.status).toBe(200);
    expect(Buffer.from(await image.arrayBuffer()).toString('base64')).toBe(made.b64_json);
    // With no runner configured, a batch past the WASM fallback limit is refused, not run here.
    const big = await post({ prompt: 'too big for the edge', n: 8 });
    expect(big.status).toBe(503);
    expect(big.headers.get('retry-after')).toBe('5');
  });

  it('keys mode: 401 without or with a wrong key, 403 off the allowlist, 429 from the D1 token bucket', async () => {
    const post = (headers: Record<string, string>, seed: number) =>
      fetch(`${started.base}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ prompt: 'keys on workers', seed }),
      });
    const codeOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    expect(await codeOf(await post({}, 1))).toEqual([401, 'api_key_required']);
    expect(await codeOf(await post({ authorization: `Bearer ak_${'x'.repeat(32)}` }, 1))).toEqual([401, 'invalid_api_key']);
    const denied = await post({ authorization: `Bearer ${apiKey.secret}`, origin: 'https://evil.example' }, 1);
    expect(denied.headers.get('access-control-allow-origin')).toBe('*');
    expect(await codeOf(denied)).toEqual([403, 'origin_not_allowed']);
    expect((await post({ authorization: `Bearer ${apiKey.secret}`, origin: SITE }, 1)).status).toBe(200);
    expect((await fetch(`${started.base}/v1/models`)).status).toBe(200); // ANONYMOUS_LOOKUPS

    const tight = { authorization: `Bearer ${tightKey.secret}` };
    const first = await post(tight, 2);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit')).toBe('"key";r=0;t=60');
    const limited = await post(tight, 3);
    expect(await codeOf(limited)).toEqual([429, 'rate_limited']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(limited.headers.get('ratelimit-policy')).toBe('"key";q=1;w=60');
  });

  it('serves the demo page, /embed.js, onnxruntime-web and bundle files from its assets', async () => {
    const get = (p: string) => fetch(`${started.base}${p}`);
    const demo = await get('/');
    expect(await demo.text()).toContain('id="snippet"');
    const docs = await (await get('/docs')).text();
    expect(docs).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    const embed = await get('/embed.js');
    expect([embed.status, embed.headers.get('content-type'), embed.headers.get('access-control-allow-origin')]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      '*',
    ]);
    const chunk = /import\("\.\/(embed-local-[A-Z0-9]+\.js)"\)/.exec(await embed.text())![1];
    const local = await get(`/${chunk}`);
    expect([local.status, local.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable']);
    await local.arrayBuffer();
    const wasm = await get('/ort/ort-wasm-simd-threaded.wasm');
    expect([wasm.status, wasm.headers.get('content-type')]).toEqual([200, 'application/wasm']);
    expect((await wasm.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000);
    const vocab = await get('/bundles/aurora-tiny/vocab.txt.gz');
    expect([vocab.status, vocab.headers.get('content-type'), vocab.headers.get('content-encoding')]).toEqual([200, 'application/gzip', null]);
    expect(new Uint8Array(await vocab.arrayBuffer()).slice(0, 2)).toEqual(new Uint8Array([0x1f, 0x8b]));
  });
});
