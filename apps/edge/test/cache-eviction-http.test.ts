/**
 * The cache bound through the real app: real aurora-tiny generation in onnxruntime-web, real
 * SQLite, the real ImageStore and eviction, requests through Hono. Evicted images come back with
 * the same bytes, and a sweep that meets a locked database never touches the request behind it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BundleSource } from '@aurora-edge/model';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { assembleDeps } from '../src/assemble.ts';
import { cacheStats, images } from '../src/cache/schema.ts';
import { parseEdgeConfig } from '../src/config.ts';
import { createDb } from '../src/node/db.ts';
import { loadOrtWeb } from '../src/node/ort.ts';
import { MIGRATIONS_DIR } from '../src/node.ts';
import { tinyBundle } from './support/deps.ts';

let source: BundleSource;
let pipeline: ReturnType<Awaited<ReturnType<typeof loadOrtWeb>>['load']>;
/** The size of one aurora-tiny PNG (they vary by a few bytes): the bounds below are counted in images. */
let imageBytes: number;

beforeAll(async () => {
  source = tinyBundle();
  pipeline = (await loadOrtWeb()).load(source);
  const [probe] = await (await pipeline).generate([{ prompt: 'a probe', seed: 0, psi: 0.7 }]);
  imageBytes = probe.png.byteLength;
});

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Generated {
  data: { id: string; seed: number; cached: boolean; route: string; b64_json: string }[];
}

/** The app over a real database, with the background runner collecting its work so a test can wait for it. */
function gateway(maxImages: number, options: { file?: string; onBackground?: () => void } = {}) {
  const { db, writeAtomically, close } = createDb(options.file ?? ':memory:', MIGRATIONS_DIR, { busyTimeoutMs: 50 });
  const jobs: Promise<unknown>[] = [];
  const logs: string[] = [];
  const maxBytes = Math.round(maxImages * imageBytes);
  const deps = assembleDeps({
    runtime: 'test',
    config: parseEdgeConfig({ ANON_RPM: '0', CACHE_MAX_BYTES: String(maxBytes) }),
    db,
    writeAtomically,
    bundles: [source],
    loadPipeline: () => pipeline,
    wasmHeapBytes: () => 0,
    background: (work) => {
      options.onBackground?.();
      jobs.push(work);
    },
    log: (message, error) => logs.push(`${message}${error ? `: ${(error as Error).message}` : ''}`),
  });
  const app = createApp(deps);
  const ctx = { waitUntil: (p: Promise<unknown>) => void p.catch(() => undefined), passThroughOnException() {}, props: {} };
  const request = (p: string, init?: RequestInit) => app.fetch(new Request(`http://edge.test${p}`, init), {}, ctx);
  const generate = async (seed: number, prompt = 'a lighthouse at dusk') => {
    const res = await request('/v1/images/generations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, seed, response_format: 'b64_json' }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return { route: res.headers.get('x-aurora-route'), image: ((await res.json()) as Generated).data[0] };
  };
  const settle = async () => {
    while (jobs.length > 0) await jobs.shift();
  };
  const stats = async () => (await db.select().from(cacheStats))[0];
  const seeds = async () => (await db.select({ seed: images.seed }).from(images).orderBy(images.seed)).map((r) => r.seed);
  closers.push(async () => {
    await settle();
    await deps.store.close();
    close();
  });
  return { deps, db, maxBytes, logs, request, generate, settle, stats, seeds };
}

describe('the bounded cache behind the HTTP API (real generation)', () => {
  it('stays within CACHE_MAX_BYTES, evicts the least recently used, and an evicted image regenerates byte for byte', async () => {
    const g = gateway(3.5);
    const first = await g.generate(1);
    await g.settle();
    for (const seed of [2, 3]) {
      await g.generate(seed);
      await g.settle();
    }
    // Seed 1 is the oldest entry, but a hit makes it the most recently used.
    expect((await g.generate(1)).route).toBe('cache');
    await g.deps.store.flushHits();
    await g.generate(4); // 4 images > 3.5: one goes, the least recently used: 2, not 1
    await g.settle();
    expect(await g.seeds()).toEqual([1, 3, 4]);
    for (const seed of [5, 6]) {
      await g.generate(seed);
      await g.settle();
      expect((await g.stats()).bytes).toBeLessThanOrEqual(g.maxBytes);
    }
    expect(await g.seeds()).toEqual([4, 5, 6]);
    expect((await g.request(`/v1/images/${first.image.id}.png`)).status).toBe(404);
    expect((await g.request(`/v1/cache?prompt=${encodeURIComponent('a lighthouse at dusk')}&seed=1`)).status).toBe(404);

    const again = await g.generate(1);
    expect(again.route).toBe('wasm');
    expect(again.image).toMatchObject({ id: first.image.id, cached: false, b64_json: first.image.b64_json });
    await g.settle();
    const png = await g.request(`/v1/images/${first.image.id}.png`);
    expect(png.status).toBe(200);
    expect(Buffer.from(await png.arrayBuffer()).toString('base64')).toBe(first.image.b64_json);
    expect((await g.stats()).bytes).toBeLessThanOrEqual(g.maxBytes);
  });

  it('a sweep that meets a locked database fails quietly: the request is answered and its image stored whole', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-eviction-http-'));
    dirs.push(dir);
    const file = path.join(dir, 'cache.sqlite');
    const other = new Database(file);
    closers.push(async () => {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    });
    let lockNext = false;
    // The moment a save hands its sweep to the background, another connection takes the write lock.
    const g = gateway(1.5, {
      file,
      onBackground: () => {
        if (!lockNext) return;
        lockNext = false;
        other.exec('BEGIN IMMEDIATE');
      },
    });
    await g.generate(20);
    await g.settle();
    lockNext = true;
    const locked = await g.generate(21);
    expect(other.inTransaction).toBe(true); // the lock was taken after the save, before the sweep
    expect(locked.image).toMatchObject({ seed: 21, cached: false });
    await g.settle();
    expect(g.logs.some((l) => /cache eviction failed.*(locked|busy)/i.test(l))).toBe(true);
    // Nothing was deleted: both rows are there, the new one with its bytes.
    expect(await g.seeds()).toEqual([20, 21]);
    const [row] = await g.db.select({ png: images.png }).from(images).where(eq(images.key, locked.image.id));
    expect(Buffer.from(row.png!).toString('base64')).toBe(locked.image.b64_json);
    other.exec('ROLLBACK');

    // The next save retries the sweep, which now succeeds.
    await g.generate(22);
    await g.settle();
    expect(await g.seeds()).toEqual([22]);
    expect((await g.stats()).bytes).toBeLessThanOrEqual(g.maxBytes);
  });
});
