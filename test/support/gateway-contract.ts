/**
 * The gateway's HTTP behaviour, written once and run against every runtime (Node, workerd): a
 * target is a base URL plus a fetch. The target must have one healthy GPU runner and
 * WASM_MAX_BATCH = 2.
 */
import { decodePng } from '@aurora-edge/model';
import { beforeAll, describe, expect, it } from 'vitest';

export interface GatewayTarget {
  readonly fetch: (path: string, init?: RequestInit) => Promise<Response>;
}

interface ImageData {
  id: string;
  url?: string;
  b64_json?: string;
  seed: number;
  cached: boolean;
  route: string;
}

/** >= 99.9% of uint8 samples identical, none off by more than 1. */
export function parity(a: Uint8Array, b: Uint8Array): { fraction: number; maxDiff: number; ok: boolean } {
  expect(a.length).toBe(b.length);
  let same = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d === 0) same++;
    maxDiff = Math.max(maxDiff, d);
  }
  const fraction = same / a.length;
  return { fraction, maxDiff, ok: fraction >= 0.999 && maxDiff <= 1 };
}

export function gatewayContract(name: string, getTarget: () => GatewayTarget): void {
  describe(`gateway contract: ${name}`, () => {
    let t: GatewayTarget;
    // Fixed, so every run checks the same images (each target starts with an empty cache).
    const prompt = 'a lighthouse on a cliff at dusk';
    const seed = 4242;
    const post = (body: unknown) =>
      t.fetch('/v1/images/generations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const bytesOf = async (url: string) => new Uint8Array(await (await t.fetch(new URL(url).pathname)).arrayBuffer());
    let first: ImageData;
    let firstBytes: Uint8Array;
    let runnerImages: ImageData[];

    beforeAll(() => {
      t = getTarget();
    });

    it('n=1 miss runs in WASM and makes a 64x64 PNG', async () => {
      const res = await post({ prompt, n: 1, seed });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-aurora-route')).toBe('wasm');
      const json = await res.json();
      expect(json).toMatchObject({ model: 'aurora-tiny', seed, size: '64x64', data: [{ seed, cached: false, route: 'wasm' }] });
      first = json.data[0];
      firstBytes = await bytesOf(first.url!);
      const png = decodePng(firstBytes);
      expect([png.width, png.height]).toEqual([64, 64]);
    });

    it('the same request again is a cache hit with identical bytes', async () => {
      const res = await post({ prompt, n: 1, seed });
      expect(res.headers.get('x-aurora-route')).toBe('cache');
      const json = await res.json();
      expect(json.data[0]).toMatchObject({ id: first.id, seed, cached: true, route: 'cache' });
      expect(Buffer.from(await bytesOf(json.data[0].url)).equals(Buffer.from(firstBytes))).toBe(true);
      const b64 = await (await post({ prompt, n: 1, seed, response_format: 'b64_json' })).json();
      expect(Buffer.from(b64.data[0].b64_json, 'base64').equals(Buffer.from(firstBytes))).toBe(true);
    });

    it('GET /v1/images/{id}.png is immutable with a strong ETag and answers 304', async () => {
      const path = new URL(first.url!).pathname;
      const res = await t.fetch(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
      await res.arrayBuffer();
      const again = await t.fetch(path, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect((await t.fetch(`/v1/images/${'0'.repeat(64)}.png`)).status).toBe(404);
    });

    it('n=8 misses go to the GPU runner, with seeds seed..seed+7', async () => {
      const s = seed + 100;
      const res = await post({ prompt, n: 8, seed: s });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-aurora-route')).toBe('runner');
      const json = await res.json();
      runnerImages = json.data;
      expect(runnerImages.map((d) => [d.seed, d.cached, d.route])).toEqual(Array.from({ length: 8 }, (_, i) => [s + i, false, 'runner']));
      expect(new Set(runnerImages.map((d) => d.id)).size).toBe(8);
    });

    it('a refresh across routes (runner, then WASM) never changes the bytes behind a URL served as immutable', async () => {
      // The routes agree within the parity bound, not bit for bit: a WASM refresh of a runner
      // image stores other bytes under the same id. Every URL a response hands out must keep
      // meaning the bytes first fetched from it (or answer 404), never the new ones.
      let changed = 0;
      for (const target of runnerImages) {
        const oldPath = new URL(target.url!).pathname;
        const before = await t.fetch(oldPath);
        expect(before.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
        const beforeBytes = new Uint8Array(await before.arrayBuffer());
        const res = await post({ prompt, n: 1, seed: target.seed, cache: 'refresh' });
        expect(res.headers.get('x-aurora-route')).toBe('wasm');
        const now: ImageData = (await res.json()).data[0];
        expect(now).toMatchObject({ id: target.id, seed: target.seed, cached: false, route: 'wasm' });
        const nowBytes = await bytesOf(now.url!);
        const p = parity(decodePng(beforeBytes).pixels, decodePng(nowBytes).pixels);
        expect(p.ok, `runner vs wasm parity ${(100 * p.fraction).toFixed(3)}%, max diff ${p.maxDiff}`).toBe(true);
        const again = await t.fetch(oldPath);
        if (Buffer.from(nowBytes).equals(Buffer.from(beforeBytes))) {
          expect(now.url).toBe(target.url);
          expect(again.status).toBe(200);
        } else {
          changed++;
          expect(now.url).not.toBe(target.url);
          expect(again.status, 'the old version URL must not serve the new bytes').toBe(404);
          expect((await again.json()).error.code).toBe('image_not_found');
        }
        // The bare id serves what is stored now, and makes caches revalidate it.
        const current = await t.fetch(`/v1/images/${target.id}.png`);
        expect([current.status, current.headers.get('cache-control')]).toEqual([200, 'public, no-cache']);
        expect(Buffer.from(await current.arrayBuffer()).equals(Buffer.from(nowBytes))).toBe(true);
      }
      console.log(`${name}: ${changed} of ${runnerImages.length} runner images got other bytes from a WASM refresh`);
    });

    it('bad input gets a 4xx JSON error naming the field', async () => {
      const cases: Array<[unknown, number, string]> = [
        [{ prompt: '', n: 99 }, 400, 'prompt'],
        [{ prompt: 'x', n: 2, seed: 2 ** 32 - 1 }, 400, 'seed'],
        [{ prompt: 'x', truncation_psi: 2 }, 400, 'truncation_psi'],
        [{ prompt: 'x', model: 'nope' }, 400, 'model'],
        ['{"prompt":', 400, 'body'],
        [JSON.stringify({ prompt: 'x', pad: 'y'.repeat(40_000) }), 413, 'body'],
      ];
      for (const [body, status, field] of cases) {
        const res = await post(body);
        expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(status);
        const json = await res.json();
        expect(json.error).toMatchObject({ field });
        expect(typeof json.error.code).toBe('string');
      }
    });

    it('GET /v1/cache finds cached images and never generates', async () => {
      const q = (s: number) => `/v1/cache?prompt=${encodeURIComponent(prompt)}&seed=${s}`;
      const hit = await t.fetch(q(seed));
      expect(hit.status).toBe(200);
      expect(await hit.json()).toMatchObject({ id: first.id, seed, route: 'wasm' });
      const miss = await t.fetch(q(seed + 50));
      expect(miss.status).toBe(404);
      expect((await miss.json()).error.code).toBe('not_cached');
      expect((await t.fetch(q(seed + 50))).status).toBe(404);
    });

    it('identical concurrent requests are served one result', async () => {
      const body = { prompt: `${prompt} concurrent`, n: 2, seed, response_format: 'b64_json' };
      const all = await Promise.all(Array.from({ length: 4 }, () => post(body)));
      const data = await Promise.all(all.map(async (r) => (await r.json()).data as ImageData[]));
      expect(new Set(data.map((d) => d.map((i) => i.b64_json).join()))).toHaveProperty('size', 1);
    });

    it('Idempotency-Key: the same key and body replay the first answer (stored in this database); another body is 422', async () => {
      const key = `contract-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const send = (body: unknown) =>
        t.fetch('/v1/images/generations', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
      const body = { prompt: 'an idempotent kite', n: 1, seed: 9090, response_format: 'b64_json' };
      const firstAnswer = await send(body);
      expect(firstAnswer.status).toBe(200);
      expect(firstAnswer.headers.get('idempotent-replayed')).toBeNull();
      const firstText = await firstAnswer.text();
      const replay = await send(body);
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.text()).toBe(firstText);
      const other = await send({ ...body, seed: 9091 });
      expect(other.status).toBe(422);
      expect((await other.json()).error).toMatchObject({ code: 'idempotency_key_reused', field: 'Idempotency-Key' });
    });

    it('lists models, reports health with the wasm heap, and serves the OpenAPI document and docs', async () => {
      const models = await (await t.fetch('/v1/models')).json();
      expect(models.data.map((m: { id: string }) => m.id)).toEqual(['aurora-tiny']);
      const health = await (await t.fetch('/healthz')).json();
      expect(health).toMatchObject({ ok: true, runners: [{ healthy: true, bundles: ['aurora-tiny'] }] });
      console.log(`${name}: wasm heap ${(health.wasm_heap_bytes / 2 ** 20).toFixed(1)} MiB`);
      expect(health.wasm_heap_bytes).toBeGreaterThan(16 * 2 ** 20);
      expect(health.wasm_heap_bytes).toBeLessThan(100 * 2 ** 20);
      const doc = await (await t.fetch('/openapi.json')).json();
      expect(doc.paths['/v1/images/generations'].post).toBeTruthy();
      const docs = await t.fetch('/docs');
      expect(docs.status).toBe(200);
      expect(await docs.text(), 'the docs page loads nothing from another host').not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
      expect(await (await t.fetch('/')).text()).toContain('<html');
    });
  });
}
