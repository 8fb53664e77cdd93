/**
 * Large batches on the Worker in workerd, against local D1 (which, like D1, binds at most 100
 * parameters per statement): creation writes items as one JSON parameter per chunk and looks up
 * cache keys the same way, so batches of thousands of items and images are accepted, paged,
 * answered from the cache and cancelled. A 120-image batch runs to completion (every image in D1
 * once); a 10,000-item batch of those images completes at creation (10,000 keys looked up, 10,000
 * rows written in one D1 batch, read back with their storage classes); a 1,000-image batch, 880 of
 * them cached, completes through the queue; a 2,500-item batch of 9,700 images with 100 cached
 * items is created, paged and cancelled. (The aurora-tiny model runs in the Worker at about 100 ms
 * an image, so the images run here are kept to a few hundred.)
 *
 * Before the fix (500 rows of 13 parameters per INSERT, 500 keys per lookup) each of these
 * creations failed with 500 "too many SQL variables".
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker, wranglerD1 } from './support/workerd.ts';

const RUN = Date.now().toString(36);
const WARM = 120;

interface ItemJson {
  index: number;
  status: string;
  images: { id: string; seed: number; url: string }[];
}
interface BatchJson {
  id: string;
  status: string;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  items?: ItemJson[];
  has_more?: boolean;
  next_after?: number | null;
}

let dir: string;
let started: { worker: Worker; base: string };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-edge-batches-large-'));
  wranglerD1(dir, 'migrations', 'apply', 'DB');
  started = await startWorker(dir, {
    ANON_RPM: { type: 'plain_text', value: '0' },
    BATCH_CONCURRENCY: { type: 'plain_text', value: '4' },
  });
}, 180_000);

afterAll(async () => {
  await started?.worker.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Reads the Worker's local D1 database file directly (read-only). */
function query<T>(sql: string, ...params: unknown[]): T[] {
  const folder = path.join(dir, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const file = fs.readdirSync(folder).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  const db = new Database(path.join(folder, file!), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

const create = async (items: object[]) => {
  const res = await fetch(`${started.base}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
  const body = await res.text();
  expect(res.status, body.slice(0, 500)).toBe(202);
  return JSON.parse(body) as BatchJson;
};
const page = async (id: string, after?: number): Promise<BatchJson> =>
  // A time limit: under load a request to wrangler's dev server now and then never gets its answer (the poll then asks again).
  (
    await fetch(`${started.base}/v1/batches/${id}?limit=1000${after === undefined ? '' : `&after=${after}`}`, { signal: AbortSignal.timeout(10_000) })
  ).json() as Promise<BatchJson>;

/** Every item of a batch, through the pages of GET /v1/batches/{id} (1,000 a page). */
async function allItems(id: string): Promise<{ batch: BatchJson; items: ItemJson[]; pages: number }> {
  const items: ItemJson[] = [];
  let after: number | undefined;
  let pages = 0;
  for (;;) {
    const p = await page(id, after);
    pages++;
    items.push(...p.items!);
    if (!p.has_more) return { batch: p, items, pages };
    expect(p.next_after).toBe(p.items!.at(-1)!.index);
    after = p.next_after!;
  }
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined;
    try {
      value = await read();
      if (done(value)) return value;
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      console.warn(`no answer to a poll for ${what} within 10 s; asking again`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(JSON.stringify(value)).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const finished = (b: BatchJson) => ['completed', 'failed', 'cancelled'].includes(b.status);
/** 30 items of 4 images: WARM images, run first; later batches find them cached. */
const warmItems = Array.from({ length: WARM / 4 }, (_, k) => ({
  prompt: `a warm shape ${k} ${RUN}`,
  seed: 1_000 + 10 * k,
  n: 4,
  truncation_psi: k % 2 ? 0.55 : 0.7,
}));
/** The same WARM images as items of one image each (item k's seeds are k's images). */
const singles = warmItems.flatMap((w) => [0, 1, 2, 3].map((j) => ({ prompt: w.prompt, seed: w.seed + j, truncation_psi: w.truncation_psi })));

describe('large batches on the Worker (local D1: 100 parameters per statement)', () => {
  let warm: ItemJson[];
  /** The image id of singles[i]. */
  const single = (i: number) => warm[Math.floor(i / 4)].images[i % 4].id;

  it('runs a 120-image batch to completion: every image in D1 once, each item leased once', async () => {
    const created = await create(warmItems);
    expect(created).toMatchObject({ status: 'queued', total: WARM, done: 0 });
    const b = await until('the warm batch', () => page(created.id), finished, 150_000);
    expect(b).toMatchObject({ status: 'completed', total: WARM, done: WARM, failed: 0 });
    warm = b.items!;
    expect(warm.map((i) => [i.index, i.status, i.images.map((img) => img.seed)])).toEqual(
      warmItems.map((w, k) => [k, 'completed', [0, 1, 2, 3].map((j) => w.seed + j)]),
    );
    const ids = warm.flatMap((i) => i.images.map((img) => img.id));
    expect(new Set(ids).size).toBe(WARM);
    expect(
      query<{ key: string }>('SELECT key FROM images WHERE prompt LIKE ?', `a warm shape %${RUN}`)
        .map((r) => r.key)
        .sort(),
    ).toEqual([...ids].sort());
    expect(query<{ attempts: number }>('SELECT DISTINCT attempts FROM batch_items WHERE batch_id = ?', created.id)).toEqual([{ attempts: 1 }]);
  }, 180_000);

  it('completes a 10,000-item batch of cached images at creation: rows in D1 as written, paged in order', async () => {
    const etags = new Map(
      query<{ key: string; etag: string }>('SELECT key, etag FROM images WHERE prompt LIKE ?', `a warm shape %${RUN}`).map((r) => [r.key, r.etag]),
    );
    const items = Array.from({ length: 10_000 }, (_, i) => singles[i % WARM]);
    const created = await create(items);
    expect(created).toMatchObject({ status: 'completed', total: 10_000, done: 10_000, failed: 0, cancelled: 0 });

    // D1's rows: one per item, completed, with the image of its warm item; integers, a real, JSON text, nulls.
    const rows = query<Record<string, unknown>>(
      `SELECT idx, typeof(idx) AS idx_t, owner, created_at, typeof(created_at) AS created_t, prompt, typeof(prompt) AS prompt_t, seed, typeof(seed) AS seed_t,
         n, typeof(n) AS n_t, psi, typeof(psi) AS psi_t, status, images, typeof(images) AS images_t, typeof(error) AS error_t, typeof(lease_until) AS lease_t,
         attempts, typeof(attempts) AS attempts_t FROM batch_items WHERE batch_id = ? ORDER BY idx`,
      created.id,
    );
    expect(rows).toHaveLength(10_000);
    const createdAt = rows[0].created_at;
    expect(typeof createdAt).toBe('number');
    rows.forEach((row, i) => {
      const w = singles[i % WARM];
      const key = single(i % WARM);
      expect(row).toEqual({
        idx: i,
        idx_t: 'integer',
        owner: rows[0].owner,
        created_at: createdAt,
        created_t: 'integer',
        prompt: w.prompt,
        prompt_t: 'text',
        seed: w.seed,
        seed_t: 'integer',
        n: 1,
        n_t: 'integer',
        psi: w.truncation_psi,
        psi_t: 'real',
        status: 'completed',
        images: JSON.stringify([{ id: key, seed: w.seed, etag: etags.get(key) }]),
        images_t: 'text',
        error_t: 'null',
        lease_t: 'null',
        attempts: 0,
        attempts_t: 'integer',
      });
    });

    const { batch, items: paged, pages } = await allItems(created.id);
    expect(pages).toBe(10);
    expect(batch).toMatchObject({ status: 'completed', done: 10_000 });
    expect(paged.map((i) => i.index)).toEqual(items.map((_, i) => i));
    expect(paged.every((i) => i.status === 'completed')).toBe(true);
    expect(paged.map((i) => i.images[0].id)).toEqual(items.map((_, i) => single(i % WARM)));
  }, 120_000);

  it('runs a 1,000-image batch to completion: 880 cached images at once, the 120 others through the queue, each once in D1', async () => {
    // 250 items of 4 images: 220 repeat the warm items (cached), 30 are new.
    const fresh = (i: number) => i % 25 === 3 || i % 25 === 11 || i % 25 === 19;
    const items = Array.from({ length: 250 }, (_, i) =>
      fresh(i) ? { prompt: `a finishing shape ${i} ${RUN}`, seed: 9_000 + 4 * i, n: 4 } : warmItems[i % warmItems.length],
    );
    const created = await create(items);
    expect(created).toMatchObject({ status: 'queued', total: 1_000, done: 880 });
    await until('the 1,000-image batch', () => page(created.id), finished, 150_000);
    const { batch, items: paged } = await allItems(created.id);
    expect(batch).toMatchObject({ status: 'completed', total: 1_000, done: 1_000, failed: 0 });
    expect(paged.map((i) => [i.index, i.status, i.images.length])).toEqual(items.map((_, i) => [i, 'completed', 4]));
    paged.forEach((item, i) => {
      if (!fresh(i)) expect(item.images).toEqual(warm[i % warmItems.length].images);
    });
    const made = paged.filter((_, i) => fresh(i)).flatMap((i) => i.images.map((img) => img.id));
    expect(new Set(made).size).toBe(120);
    expect(
      query<{ key: string }>('SELECT key FROM images WHERE prompt LIKE ?', `a finishing shape %${RUN}`)
        .map((r) => r.key)
        .sort(),
    ).toEqual([...made].sort());
    // Cached items were never leased; each new one once.
    expect(query<{ attempts: number }>('SELECT attempts FROM batch_items WHERE batch_id = ? ORDER BY idx', created.id).map((r) => r.attempts)).toEqual(
      items.map((_, i) => (fresh(i) ? 1 : 0)),
    );
  }, 180_000);

  it('creates, pages and cancels a 2,500-item batch of 9,700 images whose 100 cached items complete at once', async () => {
    const items = Array.from({ length: 2_500 }, (_, i) =>
      i % 25 === 0 ? singles[i / 25] : { prompt: `a large shape ${i} ${RUN}`, seed: 5_000 + 4 * i, n: 4 },
    );
    const created = await create(items);
    expect(created).toMatchObject({ status: 'queued', total: 9_700, done: 100 });
    const cancel = await fetch(`${started.base}/v1/batches/${created.id}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(200);
    const cancelled = (await cancel.json()) as BatchJson;
    expect(cancelled.status).toBe('cancelled');

    // Items running at the cancel may still finish; then none is open, and every item is paged in order.
    const settled = await until(
      'no item running',
      () => allItems(created.id),
      (r) => r.items.every((i) => i.status !== 'running' && i.status !== 'queued'),
      60_000,
    );
    expect(settled.pages).toBe(3);
    expect(settled.items.map((i) => i.index)).toEqual(items.map((_, i) => i));
    for (let i = 0; i < 2_500; i += 25) expect(settled.items[i]).toMatchObject({ status: 'completed', images: [{ id: single(i / 25) }] });
    const late = settled.items.filter((i, k) => k % 25 !== 0 && i.status === 'completed');
    expect(late.length).toBeLessThanOrEqual(8);
    expect(settled.batch.done + settled.batch.cancelled).toBe(9_700);
    expect(settled.batch.done).toBe(100 + 4 * late.length);
    expect(query<{ n: number }>('SELECT count(*) AS n FROM batch_items WHERE batch_id = ?', created.id)[0].n).toBe(2_500);
    expect(query('SELECT key FROM images WHERE prompt LIKE ?', `a large shape %${RUN}`)).toHaveLength(4 * late.length);
  }, 120_000);
});
