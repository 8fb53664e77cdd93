/**
 * Batch creation within D1's bounds, on SQLite (better-sqlite3): D1 binds at most 100 parameters
 * per statement, takes at most 100 KB of SQL and 2 MB per bound string, and counts the queries of
 * an invocation. A 10,000-item batch is written in a handful of statements of a few parameters
 * each (items as one JSON text, expanded by json_each), and the rows are the ones a plain
 * multi-row INSERT of the same items writes: same values, same storage classes. The cache lookup
 * at creation binds its keys as one parameter too. (D1 itself: test/batches-workerd-large.test.ts;
 * Postgres: batches-pg.e2e.test.ts.)
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { JSON_CHUNK_BYTES, type NewItemRow, sqliteBatchDialect } from '../src/batches/dialect.ts';
import { batchItems } from '../src/batches/schema.ts';
import { BatchStore, newBatchId, type NewBatchItem } from '../src/batches/store.ts';
import { sqliteDialect } from '../src/cache/dialect.ts';
import { images } from '../src/cache/schema.ts';
import { createDb } from '../src/node/db.ts';
import { MIGRATIONS_DIR } from '../src/node/paths.ts';

const NOW = 1_800_000_000_000;
const dialect = sqliteBatchDialect(sqliteDialect);
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const d of opened.splice(0)) d.close();
});

function open() {
  const database = createDb(':memory:', MIGRATIONS_DIR);
  opened.push(database);
  return { database, store: new BatchStore(database, dialect, () => NOW) };
}

/** Prompts that JSON and SQLite's JSON functions must carry unchanged: quotes, escapes, non-ASCII, astral characters. */
const PROMPTS = [
  'a red circle',
  'quotes " and \' and back\\slash',
  'new\nline, tab\t, cr\r',
  'ünïcödé — 日本語の猫',
  'emoji 🐱‍👤 and 𝔘𝔫𝔦',
  '{"looks":"like json"}',
  '[1,2,3]',
  'null',
  '   spaces   ',
  'x'.repeat(1_000),
];
/** psi values whose doubles must survive JSON text and json_extract: integers, tiny, long fractions. */
const PSIS = [0, 1, 0.7, 0.1, 0.3, 1 / 3, 2 / 3, 0.123456789012345, 5e-324, 1e-17, 0.9999999999999999, 1.5];

function itemsOf(count: number): NewBatchItem[] {
  let state = 12_345;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  return Array.from({ length: count }, (_, i) => {
    const n = 1 + (i % 4);
    const cached = i % 3 === 0;
    return {
      prompt: `${PROMPTS[i % PROMPTS.length]} ${i}`,
      seed: i % 7 === 0 ? 4_294_967_295 - n + 1 : Math.floor(random() * 4_000_000_000),
      n,
      psi: i < PSIS.length ? PSIS[i] : random(),
      cached: cached ? Array.from({ length: n }, (_, k) => ({ id: `key-${i}-${k}`, seed: k, etag: `"e${i}.${k}"` })) : undefined,
    };
  });
}

/** Every column of a batch's items as stored: its value and its SQLite storage class. */
function stored(database: ReturnType<typeof createDb>, batchId: string): Record<string, unknown>[] {
  const cols = ['idx', 'owner', 'created_at', 'prompt', 'seed', 'n', 'psi', 'status', 'images', 'error', 'lease_until', 'attempts'];
  return database.db.all(
    sql.raw(`SELECT ${cols.map((c) => `${c}, typeof(${c}) AS ${c}_type`).join(', ')} FROM batch_items WHERE batch_id = '${batchId}' ORDER BY rowid`),
  ) as Record<string, unknown>[];
}

describe('batch creation within D1 limits (SQLite)', () => {
  it('writes 10,000 items in a few statements of at most 100 parameters; the rows equal a plain multi-row INSERT of them', async () => {
    const { database, store } = open();
    const items = itemsOf(10_000);
    const id = newBatchId();
    const row = await store.create({ id, owner: 'key:k1', model: 'aurora-tiny', items, webhook: null });
    const open_ = items.filter((i) => !i.cached).length;
    expect(row).toMatchObject({ status: 'queued', openItems: open_, total: items.reduce((s, i) => s + i.n, 0) });

    // The rows the earlier implementation wrote: drizzle's multi-row VALUES, each value a bound parameter.
    const reference = newBatchId();
    const rows: NewItemRow[] = items.map((item, index) => ({
      batchId: reference,
      index,
      owner: 'key:k1',
      createdAt: NOW,
      prompt: item.prompt,
      seed: item.seed,
      n: item.n,
      psi: item.psi,
      status: item.cached ? 'completed' : 'queued',
      images: item.cached ? JSON.stringify(item.cached) : null,
      error: null,
      leaseUntil: null,
      attempts: 0,
    }));
    for (let i = 0; i < rows.length; i += 500) await database.db.insert(batchItems).values(rows.slice(i, i + 500));

    const got = stored(database, id);
    const want = stored(database, reference);
    expect(got).toHaveLength(10_000);
    expect(got).toEqual(want);
    // Spot checks of the storage classes (the comparison above covers every row).
    expect(got[0]).toMatchObject({ idx_type: 'integer', seed_type: 'integer', psi: 0, psi_type: 'real', images_type: 'text', error_type: 'null', attempts: 0 });
    expect(got[1]).toMatchObject({ psi: 1, psi_type: 'real', images_type: 'null', lease_until_type: 'null', status: 'queued' });
    expect(got.slice(0, PSIS.length).map((r) => r.psi)).toEqual(PSIS);
    expect(got.map((r) => r.prompt)).toEqual(items.map((i) => i.prompt));
    expect(got.filter((r) => r.images !== null).map((r) => JSON.parse(r.images as string))).toEqual(items.flatMap((i) => (i.cached ? [i.cached] : [])));

    // The store's reads see them as before.
    const page = await store.items(id, 9_997, 10);
    expect(page.map((i) => [i.index, i.seed, i.psi, i.prompt])).toEqual(items.slice(9_998).map((i, k) => [9_998 + k, i.seed, i.psi, i.prompt]));
  });

  it('every statement of a 10,000-item creation fits D1: at most 100 parameters, 100 KB of SQL, 2 MB per bound string, a handful in all', () => {
    const { database } = open();
    const id = newBatchId();
    const rows: NewItemRow[] = itemsOf(10_000).map((item, index) => ({
      batchId: id,
      index,
      owner: 'key:k1',
      createdAt: NOW,
      prompt: `${item.prompt} ${'long prompt '.repeat(30)}`,
      seed: item.seed,
      n: item.n,
      psi: item.psi,
      status: item.cached ? 'completed' : 'queued',
      images: item.cached ? JSON.stringify(item.cached) : null,
      error: null,
      leaseUntil: null,
      attempts: 0,
    }));
    const statements = dialect.insertItems(database.db, dialect.tables, rows);
    const bytes = rows.reduce((s, r) => s + Buffer.byteLength(JSON.stringify([r.prompt, r.seed, r.n, r.psi, r.status, r.images])) + 1, 0);
    expect(statements.length).toBe(Math.ceil(bytes / JSON_CHUNK_BYTES));
    expect(statements.length).toBeLessThanOrEqual(20);
    for (const s of statements) {
      const { sql: text, params } = (s as unknown as { toSQL(): { sql: string; params: unknown[] } }).toSQL();
      expect(params.length).toBeLessThanOrEqual(100);
      expect(Buffer.byteLength(text)).toBeLessThan(100 * 1024);
      for (const p of params) if (typeof p === 'string') expect(Buffer.byteLength(p)).toBeLessThanOrEqual(JSON_CHUNK_BYTES);
    }
    // The lookup of 10,000 keys: one parameter.
    const keys = Array.from({ length: 10_000 }, (_, i) => `${i}`.padStart(64, '0'));
    const lookup = database.db.select().from(images).where(dialect.textIn(images.key, keys)).toSQL();
    expect(lookup.params).toHaveLength(1);
  });

  it('finds cached etags among 10,000 keys (lookups of one parameter), and creates a batch of 1 item the same way', async () => {
    const { database, store } = open();
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`.padEnd(64, 'x'));
    const present = keys.filter((_, i) => i % 97 === 0 || i > 9_900);
    for (const key of present)
      await database.db.insert(images).values({
        key,
        model: 'm',
        contentHash: 'h',
        prompt: 'p',
        seed: 1,
        psi: 0.7,
        size: '64x64',
        png: new Uint8Array([1]),
        byteLength: 1,
        etag: `"${key.slice(0, 8)}"`,
        route: 'test',
        generateMs: 1,
        createdAt: NOW,
      });
    const found = await store.cachedEtags(keys);
    expect([...found.keys()].sort()).toEqual([...present].sort());
    expect(found.get(present[0])).toBe(`"${present[0].slice(0, 8)}"`);
    expect((await store.cachedEtags([])).size).toBe(0);

    const id = newBatchId();
    await store.create({ id, owner: 'ip:1', model: 'aurora-tiny', items: [{ prompt: 'one', seed: 7, n: 2, psi: 0.55 }], webhook: null });
    expect(await store.items(id, -1, 10)).toEqual([
      {
        batchId: id,
        index: 0,
        owner: 'ip:1',
        createdAt: NOW,
        prompt: 'one',
        seed: 7,
        n: 2,
        psi: 0.55,
        status: 'queued',
        images: null,
        error: null,
        leaseUntil: null,
        attempts: 0,
      },
    ]);
  });
});
