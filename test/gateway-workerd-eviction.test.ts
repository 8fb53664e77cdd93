/**
 * The cache bound in workerd itself: the real wrangler.toml Worker, local D1 migrated by
 * `wrangler d1 migrations apply` (cache_stats and its triggers included), PNGs in a local R2
 * bucket, sweeps run through cloudflare:workers' waitUntil. Afterwards the persisted D1 and R2
 * stores are read directly: every remaining row's object exists and no evicted object is left.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Worker, startWorker, wranglerD1 } from './support/workerd.ts';

/** About three aurora-tiny PNGs (4.7-6 KB each). */
const MAX_BYTES = 16_000;
const PROMPT = 'evicted at the edge';

let dir: string;
let worker: Worker | null = null;
let base: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-workerd-eviction-'));
  wranglerD1(dir, 'migrations', 'apply', 'DB');
  ({ worker, base } = await startWorker(dir, {
    IMAGES: { type: 'r2_bucket', bucket_name: 'aurora-edge-eviction-images' },
    CACHE_MAX_BYTES: { type: 'plain_text', value: String(MAX_BYTES) },
    ANON_RPM: { type: 'plain_text', value: '0' },
  }));
});

afterAll(async () => {
  await worker?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Made {
  id: string;
  b64_json: string;
  cached: boolean;
}

async function generate(seed: number): Promise<{ route: string | null; image: Made }> {
  const res = await fetch(`${base}/v1/images/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: PROMPT, seed, response_format: 'b64_json' }),
  });
  expect(res.status).toBe(200);
  return { route: res.headers.get('x-aurora-route'), image: ((await res.json()) as { data: Made[] }).data[0] };
}

/** The cached entries of these seeds (GET /v1/cache, which never generates), with their sizes. */
async function cached(seeds: number[]): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  for (const seed of seeds) {
    const res = await fetch(`${base}/v1/cache?prompt=${encodeURIComponent(PROMPT)}&seed=${seed}`);
    if (res.status === 200) found.set(seed, ((await res.json()) as { bytes: number }).bytes);
    else expect(res.status).toBe(404);
  }
  return found;
}

/** The SQLite files under a persisted store folder (miniflare keeps D1 and R2 metadata in SQLite). */
function sqliteFiles(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.sqlite'))
    .map((f) => path.join(folder, f));
}

describe('workerd: D1 rows, R2 objects, CACHE_MAX_BYTES', () => {
  it('keeps D1 within the bound, regenerates an evicted image byte for byte, and deletes evicted objects from R2', async () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7];
    const made = new Map<number, Made>();
    for (const seed of seeds) {
      const { route, image } = await generate(seed);
      expect(route).toBe('wasm');
      made.set(seed, image);
    }
    // The sweep runs after the response (waitUntil): give the last one a moment.
    let left = await cached(seeds);
    for (let i = 0; i < 50 && [...left.values()].reduce((a, b) => a + b, 0) > MAX_BYTES; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = await cached(seeds);
    }
    expect([...left.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_BYTES);
    expect(left.has(1)).toBe(false); // the least recently used went
    expect(left.has(7)).toBe(true);
    expect((await fetch(`${base}/v1/images/${made.get(1)!.id}.png`)).status).toBe(404);

    const again = await generate(1);
    expect(again.route).toBe('wasm');
    expect(again.image).toMatchObject({ id: made.get(1)!.id, cached: false, b64_json: made.get(1)!.b64_json });
    const png = await fetch(`${base}/v1/images/${made.get(1)!.id}.png`);
    expect(Buffer.from(await png.arrayBuffer()).toString('base64')).toBe(made.get(1)!.b64_json);

    // Let any sweep finish, stop workerd, then read what it persisted.
    await new Promise((r) => setTimeout(r, 500));
    await worker!.dispose();
    worker = null;
    const [d1File] = sqliteFiles(path.join(dir, 'v3/d1')).filter((f) => !f.includes('metadata'));
    const d1 = new Database(d1File, { readonly: true });
    const rows = d1.prepare('SELECT blob_key AS blobKey, bytes FROM images').all() as { blobKey: string | null; bytes: number }[];
    const stats = d1.prepare('SELECT bytes, entries FROM cache_stats').get();
    d1.close();
    expect(stats).toEqual({ bytes: rows.reduce((a, r) => a + r.bytes, 0), entries: rows.length });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(seeds.length);
    expect(rows.every((r) => r.blobKey?.startsWith('images/'))).toBe(true);
    const objects: string[] = [];
    for (const file of sqliteFiles(path.join(dir, 'v3/r2'))) {
      const r2 = new Database(file, { readonly: true });
      const tables = (r2.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_mf_objects'").all() as unknown[]).length;
      if (tables > 0) objects.push(...(r2.prepare('SELECT key FROM _mf_objects').all() as { key: string }[]).map((o) => o.key));
      r2.close();
    }
    expect(objects.sort()).toEqual(rows.map((r) => r.blobKey!).sort());
  });
});
