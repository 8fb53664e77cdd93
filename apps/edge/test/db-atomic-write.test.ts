/**
 * The database adapters' atomic write (cache/db.ts WriteAtomically) on SQLite (node/db.ts,
 * better-sqlite3): statements run in order in one transaction, each statement's rows come back,
 * and a statement failing in the middle leaves nothing written. The D1 adapter (worker/db.ts, one
 * batch) runs under the same store code in workerd: test/gateway-workerd.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { inlineBlobs } from '../src/cache/blobs.ts';
import { cacheStats, images, type NewImageRow } from '../src/cache/schema.ts';
import { ImageStore, type ImageToStore } from '../src/cache/store.ts';
import { createDb } from '../src/node/db.ts';
import { MIGRATIONS_DIR } from '../src/node/paths.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-atomic-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const row = (key: string, extra: Partial<NewImageRow> = {}): NewImageRow => ({
  key,
  model: 'aurora-tiny',
  contentHash: 'c0ffee',
  prompt: `prompt ${key}`,
  seed: 1,
  psi: 0.7,
  size: '64x64',
  png: new Uint8Array([1, 2, 3]),
  blobKey: null,
  byteLength: 3,
  etag: `"${key}"`,
  route: 'wasm',
  generateMs: 1,
  runMs: null,
  createdAt: 1000,
  ...extra,
});

describe('writeAtomically on SQLite (better-sqlite3)', () => {
  it("runs the statements in order and returns each one's rows ([] for those without any)", async () => {
    const { db, writeAtomically, close } = createDb(':memory:', MIGRATIONS_DIR);
    try {
      const results = await writeAtomically([
        db.insert(images).values(row('a')),
        db.select({ key: images.key }).from(images),
        db.update(images).set({ hitCount: 5 }).where(eq(images.key, 'a')).returning({ key: images.key, hits: images.hitCount }),
        db.delete(images).where(eq(images.key, 'nope')),
      ]);
      expect(results).toEqual([[], [{ key: 'a' }], [{ key: 'a', hits: 5 }], []]);
      expect(await writeAtomically([])).toEqual([]);
    } finally {
      close();
    }
  });

  it('leaves nothing written when a statement in the middle fails', async () => {
    const { db, writeAtomically, close } = createDb(':memory:', MIGRATIONS_DIR);
    try {
      await db.insert(images).values(row('existing'));
      const statements = [
        db.insert(images).values(row('first')),
        db.update(images).set({ hitCount: 9 }).where(eq(images.key, 'existing')),
        db.insert(images).values(row('existing')), // the primary key is taken: fails
        db.insert(images).values(row('last')),
      ];
      await expect(writeAtomically(statements)).rejects.toThrow(/UNIQUE constraint failed: images\.key/);
      expect(await db.select({ key: images.key, hits: images.hitCount }).from(images)).toEqual([{ key: 'existing', hits: 0 }]);
      // The triggers' running totals rolled back with the rows.
      expect(await db.select({ bytes: cacheStats.bytes, entries: cacheStats.entries }).from(cacheStats)).toEqual([{ bytes: 3, entries: 1 }]);
    } finally {
      close();
    }
  });

  it('fails before running anything when another connection holds the write lock', async () => {
    const file = path.join(dir, 'locked.sqlite');
    const mine = createDb(file, MIGRATIONS_DIR, { busyTimeoutMs: 20 });
    const other = createDb(file, MIGRATIONS_DIR, { busyTimeoutMs: 20 });
    try {
      // Hold the lock as another process would: an open IMMEDIATE transaction on its connection.
      const sqlite = (other.db as unknown as { $client: { exec(sql: string): void } }).$client;
      sqlite.exec('BEGIN IMMEDIATE');
      await expect(mine.writeAtomically([mine.db.insert(images).values(row('x'))])).rejects.toThrow(/database is locked/);
      sqlite.exec('ROLLBACK');
      expect(await mine.db.select({ key: images.key }).from(images)).toEqual([]);
    } finally {
      mine.close();
      other.close();
    }
  });

  it('is what ImageStore.save uses: a batch with a failing row stores none of them', async () => {
    const { db, writeAtomically, close } = createDb(':memory:', MIGRATIONS_DIR);
    try {
      const store = new ImageStore({ db, writeAtomically }, inlineBlobs);
      const image = (key: string, extra: object = {}): ImageToStore => {
        const { png, blobKey: _b, byteLength: _l, hitCount: _h, lastHitAt: _t, ...fields } = row(key);
        return { ...fields, runMs: null, png: png as Uint8Array, ...extra };
      };
      // NOT NULL on prompt: the second row fails inside the transaction.
      await expect(store.save([image('ok'), image('bad', { prompt: null })])).rejects.toThrow(/NOT NULL constraint failed: images\.prompt/);
      expect(await db.select({ key: images.key }).from(images)).toEqual([]);
      await store.save([image('ok'), image('fine')]);
      expect((await db.select({ key: images.key }).from(images)).map((r) => r.key).sort()).toEqual(['fine', 'ok']);
      await store.close();
    } finally {
      close();
    }
  });
});
