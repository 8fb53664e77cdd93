/**
 * The cache size bound on the real ImageStore over real SQLite (better-sqlite3, /migrations
 * applied): LRU order, the low-water mark, protection of a sweep's own save, blobs deleted with
 * their rows, several processes on one file, and the configuration that sets it all.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { count, lt, sql, sum } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { type BlobStore, inlineBlobs, r2Blobs } from '../src/cache/blobs.ts';
import type { CacheDb } from '../src/cache/db.ts';
import { type CacheBound, CacheEviction, type EvictionOptions } from '../src/cache/eviction.ts';
import { images, lastUsed } from '../src/cache/schema.ts';
import { ImageStore } from '../src/cache/store.ts';
import { ConfigError, DEFAULT_CACHE_MAX_BYTES, parseEdgeConfig } from '../src/config.ts';
import { createDb } from '../src/node/db.ts';
import { MIGRATIONS_DIR } from '../src/node.ts';
import { standInImage as image } from './support/stand-in-image.ts';
import { MemoryBucket } from './support/memory-bucket.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-eviction-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'cache.sqlite');
}

/** One gateway process's view of the cache: its own connection, store and eviction, a shared clock. */
function openCache(options: { file?: string; bound: CacheBound; blobs?: BlobStore; clock: { t: number }; eviction?: EvictionOptions; busyTimeoutMs?: number }) {
  const { db, writeAtomically, close } = createDb(options.file ?? ':memory:', MIGRATIONS_DIR, { busyTimeoutMs: options.busyTimeoutMs });
  const blobs = options.blobs ?? inlineBlobs;
  const logs: string[] = [];
  const log = (message: string, error?: unknown) => logs.push(`${message}${error ? `: ${(error as Error).message}` : ''}`);
  const now = () => options.clock.t;
  const eviction = new CacheEviction(db, blobs, options.bound, { now, log, ...options.eviction });
  // The background runner collects the work, so a test can wait for it as a runtime would not.
  const jobs: Promise<unknown>[] = [];
  const store = new ImageStore({ db, writeAtomically }, blobs, { now, eviction, background: (work) => jobs.push(work), log });
  const settle = async () => {
    while (jobs.length > 0) await jobs.shift();
  };
  cleanups.push(async () => {
    await settle();
    await store.close();
    close();
  });
  return { db, store, eviction, logs, settle };
}


async function keys(db: CacheDb): Promise<string[]> {
  return (await db.select({ key: images.key }).from(images).orderBy(images.key)).map((r) => r.key);
}

async function totals(db: CacheDb): Promise<{ bytes: number; entries: number }> {
  const [row] = await db.select({ bytes: sum(images.byteLength), entries: count() }).from(images);
  return { bytes: Number(row.bytes ?? 0), entries: row.entries };
}

describe('cache_stats (kept by triggers in migration 0002)', () => {
  it('equals SUM(bytes) and COUNT(*) after inserts, a refresh with a new size, hits and deletes', async () => {
    const clock = { t: 1000 };
    const { db, store, eviction } = openCache({ bound: { maxBytes: 0, maxEntries: 0 }, clock });
    await store.save([image('a', 100, 1), image('b', 250, 2)]);
    await store.save([image('c', 40, 3)]);
    expect(await eviction.usage()).toEqual({ bytes: 390, entries: 3 });
    await store.save([image('a', 700, 4)]); // refresh: the upsert replaces a's 100 bytes
    store.recordHits(['b'], () => undefined);
    await store.flushHits();
    await db.delete(images).where(lt(images.createdAt, 3)); // b
    expect(await eviction.usage()).toEqual({ bytes: 740, entries: 2 });
    expect(await eviction.usage()).toEqual(await totals(db));
  });

  it('is recounted if its row is missing', async () => {
    const { db, store, eviction } = openCache({ bound: { maxBytes: 0, maxEntries: 0 }, clock: { t: 0 } });
    await store.save([image('a', 10, 1), image('b', 20, 2)]);
    await db.run(sql`DELETE FROM cache_stats`);
    expect(await eviction.usage()).toEqual({ bytes: 30, entries: 2 });
    await store.save([image('c', 5, 3)]);
    expect(await eviction.usage()).toEqual({ bytes: 35, entries: 3 });
  });
});

describe('eviction on the real store', () => {
  it('keeps the total under the bound over many saves, sweeping down to the low-water mark, not on every save', async () => {
    const clock = { t: 1_000 };
    const maxBytes = 100_000;
    const { db, store, logs, settle } = openCache({ bound: { maxBytes, maxEntries: 0 }, clock });
    let sweptTo = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 200; i++) {
      clock.t += 10;
      const n = 1 + (i % 3);
      await store.save(Array.from({ length: n }, (_, j) => image(`k${i}-${j}`, 700 + ((i * 37 + j * 11) % 300), clock.t)));
      const before = logs.length;
      await settle();
      const { bytes } = await totals(db);
      expect(bytes, `after save ${i}`).toBeLessThanOrEqual(maxBytes);
      if (logs.length > before) sweptTo = Math.min(sweptTo, bytes);
    }
    const sweeps = logs.filter((l) => l.includes('evicted')).length;
    // ~340 kB saved into a 100 kB bound: a sweep frees 10% of the bound, so one per ~6 saves.
    expect(sweeps).toBeGreaterThan(10);
    expect(sweeps).toBeLessThan(50);
    expect(sweptTo).toBeLessThanOrEqual(maxBytes * 0.9);
    expect(sweptTo).toBeGreaterThan(maxBytes * 0.9 - 1_000); // not past the mark by more than one image
    expect(logs.filter((l) => l.includes('failed'))).toEqual([]);
  });

  it('evicts the least recently used first: a hit refreshes an entry', async () => {
    const clock = { t: 1_000 };
    const { store, db, settle } = openCache({ bound: { maxBytes: 5_000, maxEntries: 0 }, clock });
    for (const k of ['a', 'b', 'c', 'd', 'e']) {
      clock.t += 10;
      await store.save([image(k, 1_000, clock.t)]);
    }
    await settle();
    expect(await keys(db)).toEqual(['a', 'b', 'c', 'd', 'e']); // exactly at the bound: nothing goes
    clock.t += 10;
    store.recordHits(['a'], () => undefined); // a is the oldest entry, but used now
    await store.flushHits();
    clock.t += 10;
    await store.save([image('f', 1_000, clock.t)]); // 6000 > 5000: down to 4500, so two go
    await settle();
    expect(await keys(db)).toEqual(['a', 'd', 'e', 'f']);
  });

  it('never evicts the rows of the save that triggered the sweep, even past the bound', async () => {
    const clock = { t: 1_000 };
    const { store, db, settle } = openCache({ bound: { maxBytes: 1_000, maxEntries: 0 }, clock });
    await store.save([image('old', 500, 900)]);
    await store.save([image('x', 600, 1_000), image('y', 600, 1_000)]);
    await settle();
    expect(await keys(db)).toEqual(['x', 'y']); // 1200 > 1000, but x and y are this save's
    clock.t = 2_000;
    await store.save([image('z', 100, 2_000)]);
    await settle();
    expect(await keys(db)).toEqual(['y', 'z']); // now x goes first (same time as y: insertion order)
  });

  it('a refreshed image counts as new: it is not evicted by the sweep its own save triggers', async () => {
    const clock = { t: 1_000 };
    const { store, db, settle } = openCache({ bound: { maxBytes: 2_000, maxEntries: 0 }, clock });
    await store.save([image('a', 1_000, 1_000)]);
    store.recordHits(['a'], () => undefined);
    await store.flushHits(); // a: last hit at 1000
    await store.save([image('b', 1_000, 1_100)]);
    await settle();
    clock.t = 1_200;
    await store.save([image('a', 1_100, 1_200)]); // refresh: 2100 > 2000
    await settle();
    expect(await keys(db)).toEqual(['a']);
  });

  it('bounds the number of entries with CACHE_MAX_ENTRIES', async () => {
    const clock = { t: 0 };
    const { store, db, settle } = openCache({ bound: { maxBytes: 0, maxEntries: 10 }, clock });
    const all = Array.from({ length: 40 }, (_, i) => `e${String(i).padStart(2, '0')}`);
    for (const key of all) {
      clock.t += 1;
      await store.save([image(key, 10, clock.t)]);
      await settle();
      expect((await totals(db)).entries).toBeLessThanOrEqual(10);
    }
    const left = await keys(db);
    expect(left.length).toBeGreaterThanOrEqual(9);
    expect(left).toEqual(all.slice(-left.length)); // the newest survive
  });

  it('unbounded (0): nothing is ever evicted', async () => {
    const clock = { t: 0 };
    const { store, db, settle } = openCache({ bound: { maxBytes: 0, maxEntries: 0 }, clock });
    for (let i = 0; i < 30; i++) await store.save([image(`u${i}`, 10_000, ++clock.t)]);
    await settle();
    expect((await totals(db)).entries).toBe(30);
  });

  it('reads the victims through the images_lru index (no full scan of a large table)', () => {
    const sqlite = new Database(':memory:');
    cleanups.push(() => sqlite.close());
    const { db } = openCache({ bound: { maxBytes: 1, maxEntries: 0 }, clock: { t: 0 } });
    const query = db.select({ key: images.key }).from(images).where(lt(lastUsed, 5)).orderBy(lastUsed).limit(50).toSQL();
    const migrations = fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
    for (const file of migrations.sort()) sqlite.exec(fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8'));
    const plan = sqlite.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('; ')).toMatch(/USING INDEX images_lru/);
    expect(plan.map((p) => p.detail).join('; ')).not.toMatch(/TEMP B-TREE/);
  });
});

describe('blobs (R2-style) with eviction', () => {
  /** Every row's blob exists, and every object belongs to a row: no dangling row, no orphan object. */
  async function expectConsistent(db: CacheDb, bucket: MemoryBucket) {
    const rows = await db.select({ blobKey: images.blobKey, png: images.png }).from(images);
    expect(rows.every((r) => r.png === null && r.blobKey !== null)).toBe(true);
    expect(rows.map((r) => r.blobKey).sort()).toEqual([...bucket.objects.keys()].sort());
  }

  it('deletes the object of every evicted row, and the replaced object of a refresh', async () => {
    const clock = { t: 0 };
    const bucket = new MemoryBucket();
    const { store, db, settle } = openCache({ bound: { maxBytes: 5_000, maxEntries: 0 }, blobs: r2Blobs(bucket), clock });
    for (let i = 0; i < 30; i++) {
      clock.t += 10;
      await store.save([image(`b${i}`, 900, clock.t)]);
      await settle();
      await expectConsistent(db, bucket);
    }
    expect(bucket.objects.size).toBeLessThanOrEqual(5);
    // A fresh object name per write: deleting an evicted row's object can never hit a newer row's.
    expect(await r2Blobs(bucket).put('same', new Uint8Array(1))).not.toBe(await r2Blobs(bucket).put('same', new Uint8Array(1)));
    await r2Blobs(bucket).delete([...bucket.objects.keys()].filter((k) => k.startsWith('images/same.')));
    const [before] = await db.select({ blobKey: images.blobKey }).from(images).orderBy(images.createdAt).limit(1);
    const refreshed = (await keys(db))[0];
    clock.t += 10;
    await store.save([image(refreshed, 900, clock.t)]);
    await settle();
    expect(bucket.objects.has(before.blobKey!)).toBe(false);
    await expectConsistent(db, bucket);
    expect((await store.image(refreshed))?.png?.byteLength).toBe(900);
  });

  it('a save refused by a locked database stores nothing and leaves no objects behind', async () => {
    const file = tempFile();
    const bucket = new MemoryBucket();
    const { store, db, settle } = openCache({ file, bound: { maxBytes: 5_000, maxEntries: 0 }, blobs: r2Blobs(bucket), clock: { t: 0 }, busyTimeoutMs: 20 });
    await store.save([image('kept', 100, 1)]);
    const other = new Database(file);
    cleanups.push(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    await expect(store.save([image('p', 100, 2), image('q', 100, 2)])).rejects.toThrow(/locked|busy/i);
    other.exec('ROLLBACK');
    await settle();
    expect(await keys(db)).toEqual(['kept']);
    await expectConsistent(db, bucket);
  });
});

describe('several processes on one database file', () => {
  it('concurrent sweeps stop together at the low-water mark, each row evicted once, blobs consistent', async () => {
    const file = tempFile();
    const clock = { t: 0 };
    const bucket = new MemoryBucket();
    const bound = { maxBytes: 10_000, maxEntries: 0 };
    const options = { batchRows: 4 };
    const a = openCache({ file, bound: { maxBytes: 0, maxEntries: 0 }, blobs: r2Blobs(bucket), clock });
    for (let i = 0; i < 60; i++) await a.store.save([image(`m${String(i).padStart(2, '0')}`, 500, ++clock.t)]);
    const b = openCache({ file, bound, blobs: r2Blobs(bucket), clock, eviction: options });
    const c = openCache({ file, bound, blobs: r2Blobs(bucket), clock, eviction: options });
    const [rb, rc] = await Promise.all([b.eviction.sweep(), c.eviction.sweep()]);
    const { bytes, entries } = await totals(a.db);
    expect(bytes).toBeLessThanOrEqual(9_000);
    expect(bytes).toBeGreaterThan(9_000 - 2 * 4 * 500); // at most one batch each past the mark
    expect(rb.evicted + rc.evicted).toBe(60 - entries); // no row counted twice
    expect(await keys(a.db)).toEqual(Array.from({ length: entries }, (_, i) => `m${60 - entries + i}`)); // the oldest went
    const rows = await a.db.select({ blobKey: images.blobKey }).from(images);
    expect(rows.map((r) => r.blobKey).sort()).toEqual([...bucket.objects.keys()].sort());
  });

  it('a stale estimate (another process saved) is corrected by the next reading', async () => {
    const file = tempFile();
    const clock = { t: 0 };
    const bound = { maxBytes: 10_000, maxEntries: 0 };
    const b = openCache({ file, bound, clock, eviction: { recheckMs: 1_000 } });
    await b.store.save([image('first', 1_000, ++clock.t)]);
    await b.settle();
    expect(b.eviction.estimate).toEqual({ bytes: 1_000, entries: 1 });
    const a = openCache({ file, bound: { maxBytes: 0, maxEntries: 0 }, clock }); // an unbounded writer
    for (let i = 0; i < 20; i++) await a.store.save([image(`w${i}`, 1_000, ++clock.t)]);
    await b.store.save([image('second', 1_000, ++clock.t)]);
    await b.settle();
    expect((await totals(a.db)).bytes).toBe(22_000); // within recheckMs b trusts its estimate (2000)
    clock.t += 1_000;
    await b.store.save([image('third', 1_000, clock.t)]);
    await b.settle();
    expect((await totals(a.db)).bytes).toBeLessThanOrEqual(9_000);
    expect(await keys(a.db)).toContain('third');
  });
});

describe('CACHE_MAX_BYTES / CACHE_MAX_ENTRIES', () => {
  it('defaults to 1 GiB and no entry limit; 0 is unbounded', () => {
    expect(parseEdgeConfig({}).cache).toEqual({ maxBytes: DEFAULT_CACHE_MAX_BYTES, maxEntries: 0 });
    expect(DEFAULT_CACHE_MAX_BYTES).toBe(1_073_741_824);
    expect(parseEdgeConfig({ CACHE_MAX_BYTES: '0', CACHE_MAX_ENTRIES: '' }).cache).toEqual({ maxBytes: 0, maxEntries: 0 });
    expect(parseEdgeConfig({ CACHE_MAX_BYTES: ' 5000000 ', CACHE_MAX_ENTRIES: '20000' }).cache).toEqual({ maxBytes: 5_000_000, maxEntries: 20_000 });
  });

  it.each([
    ['CACHE_MAX_BYTES', '-1'],
    ['CACHE_MAX_BYTES', '1.5'],
    ['CACHE_MAX_BYTES', '1e9'],
    ['CACHE_MAX_BYTES', '1GiB'],
    ['CACHE_MAX_BYTES', '99999999999999999999'],
    ['CACHE_MAX_ENTRIES', 'many'],
  ])('%s=%s is a ConfigError naming it', (name, value) => {
    expect(() => parseEdgeConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseEdgeConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });
});
