/**
 * The gateway's store code on Postgres (node/pg/db.ts over a throwaway server from
 * test/support/postgres.ts): the image cache with PNG bytes in bytea, the atomic write, the exact
 * shared total and LRU eviction, API keys, rate-limit buckets shared exactly, the gallery. The same
 * classes as on SQLite: only the dialect differs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256Hex } from '@aurora-edge/model';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres, type TestPostgres } from '../../../test/support/postgres.ts';
import { KeyStore } from '../src/auth/keys.ts';
import { RateLimiter } from '../src/auth/rate-limit.ts';
import { inlineBlobs } from '../src/cache/blobs.ts';
import { CacheEviction } from '../src/cache/eviction.ts';
import { RecentImages } from '../src/cache/recent.ts';
import { ImageStore, type ImageToStore } from '../src/cache/store.ts';
import { MIGRATIONS_PG_DIR } from '../src/node/paths.ts';
import { createPgDb, type PgDatabase } from '../src/node/pg/db.ts';

const image = (key: string, createdAt: number, size = 100): ImageToStore => {
  const png = new Uint8Array(size).map((_, i) => (i * 7 + key.length) & 0xff);
  return {
    key,
    model: 'aurora-tiny',
    contentHash: 'c0ffee',
    prompt: `p ${key}`,
    seed: 4294967295,
    psi: 0.7,
    size: '64x64',
    png,
    etag: sha256Hex(png),
    route: 'wasm',
    generateMs: 1.5,
    runMs: null,
    createdAt,
  };
};

describe.skipIf(!postgresAvailable)('the store on Postgres', () => {
  let server: TestPostgres;
  const opened: PgDatabase[] = [];
  const open = async (url: string) => {
    const database = await createPgDb(url, MIGRATIONS_PG_DIR);
    opened.push(database);
    return database;
  };
  let url: string;

  beforeAll(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
  });
  afterAll(async () => {
    for (const d of opened) await d.close();
    await server?.stop();
  });

  it('migrates once when several gateways open the database together', async () => {
    const fresh = await server.createDatabase();
    const all = await Promise.all([open(fresh), open(fresh), open(fresh)]);
    const { rows } = await all[0].pool.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
    // Each migration once, however many gateways ran them together.
    const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_PG_DIR, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
    expect(journal.entries.length).toBeGreaterThanOrEqual(3);
    expect(rows[0].n).toBe(journal.entries.length);
  });

  it('stores and reads PNG bytes (bytea), ids, metadata, hits and the gallery', async () => {
    const database = await open(url);
    const store = new ImageStore(database, inlineBlobs, { hitFlushMs: 0 });
    const a = image('a', 1000);
    const b = image('b', 2000, 300);
    await store.save([a]);
    await store.save([b]);
    const found = await store.lookup(['a', 'b', 'zz'], true);
    expect([...found.keys()].sort()).toEqual(['a', 'b']);
    expect(found.get('a')!.png).toEqual(a.png);
    expect(found.get('a')!.png).toBeInstanceOf(Uint8Array);
    expect((await store.image('b'))!.png).toEqual(b.png);
    expect(await store.etag('a')).toBe(a.etag);
    const meta = await store.meta('a');
    expect(meta).toMatchObject({ key: 'a', seed: 4294967295, psi: 0.7, createdAt: 1000, byteLength: 100, hitCount: 0, lastHitAt: null });
    store.recordHits(['a', 'a'], (work) => void work);
    await store.flushHits();
    expect((await store.meta('a'))!.hitCount).toBe(2);
    const recent = await new RecentImages(database.db, database.dialect).list(10);
    expect(recent.map((r) => r.key)).toEqual(['b', 'a']);
    // A refresh replaces the row, keeps the hit count.
    await store.save([{ ...a, createdAt: 3000 }]);
    expect(await store.meta('a')).toMatchObject({ createdAt: 3000, hitCount: 2, lastHitAt: null });
  });

  it('writes atomically: a failing statement in the middle leaves nothing', async () => {
    const database = await open(url);
    const { images } = database.dialect.tables;
    const { db } = database;
    const row = { ...image('atomic-1', 1), png: new Uint8Array([1]), blobKey: null, byteLength: 1 };
    await expect(
      database.writeAtomically([db.insert(images).values(row), db.insert(images).values({ ...row, key: 'atomic-2' }), db.insert(images).values(row)]),
    ).rejects.toThrow();
    expect(await db.select({ key: images.key }).from(images).where(eq(images.key, 'atomic-1'))).toEqual([]);
    const results = await database.writeAtomically([
      db.insert(images).values(row),
      db.select({ key: images.key }).from(images).where(eq(images.key, 'atomic-1')),
    ]);
    expect(results).toEqual([[], [{ key: 'atomic-1' }]]);
  });

  it('keeps the exact total in cache_stats and evicts least recently used down to the bound', async () => {
    const fresh = await server.createDatabase();
    const database = await open(fresh);
    const clock = { t: 10_000 };
    const eviction = new CacheEviction(database.db, inlineBlobs, { maxBytes: 1000, maxEntries: 0 }, { now: () => clock.t, dialect: database.dialect });
    // Saved without the bound, then swept once: the sweep is what is under test.
    const store = new ImageStore(database, inlineBlobs, { now: () => clock.t });
    for (let i = 0; i < 15; i++) await store.save([image(`k${i}`, 1000 + i, 100)]);
    expect(await eviction.usage()).toEqual({ bytes: 1500, entries: 15 });
    // Another gateway's view agrees (one shared row), and a recount gives the same.
    await database.pool.query('DELETE FROM cache_stats');
    expect(await eviction.usage()).toEqual({ bytes: 1500, entries: 15 });
    const result = await eviction.sweep();
    expect(result.usage.bytes).toBeLessThanOrEqual(900);
    const left = await database.pool.query('SELECT key FROM images ORDER BY created_at');
    expect(left.rows.map((r) => r.key)).toEqual(['k6', 'k7', 'k8', 'k9', 'k10', 'k11', 'k12', 'k13', 'k14']);
  });

  it('API keys: create, find by secret, revoke, list', async () => {
    const database = await open(url);
    const keys = new KeyStore(database.db, database.dialect);
    const { key, secret } = await keys.create({ name: 'site', origins: ['https://example.com'], rpm: 5 });
    expect((await keys.find(secret))?.id).toBe(key.id);
    const other = new KeyStore((await open(url)).db, database.dialect);
    await other.revoke(key.id, 1234);
    expect((await keys.find(secret))?.revokedAt).toBe(1234);
    expect((await keys.list()).map((k) => k.id)).toContain(key.id);
  });

  it('rate limits: concurrent takes from two gateways spend exactly the bucket', async () => {
    const [one, two] = [await open(url), await open(url)];
    const now = () => 1_000_000;
    const limiters = [new RateLimiter(one.db, now, one.dialect), new RateLimiter(two.db, now, two.dialect)];
    const limit = { bucket: 'key:shared', rpm: 17, policy: 'key' };
    const decisions = await Promise.all(Array.from({ length: 60 }, (_, i) => limiters[i % 2].take(limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(17);
    const refused = decisions.find((d) => !d.allowed)!;
    expect(refused.retryAfterS).toBeGreaterThanOrEqual(1);
    // Refill: a second later, 17/60 of a token per second... after 60 s the bucket is full again.
    const later = new RateLimiter(one.db, () => 1_060_000, one.dialect);
    expect((await later.take(limit)).remaining).toBe(16);
  });
});
