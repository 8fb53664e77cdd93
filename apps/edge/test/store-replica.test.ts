/**
 * Image lookups through a read replica (Workers: D1's Sessions API): a replica that lags the
 * primary answers what it has; its misses are read again on the primary, so an image just made
 * elsewhere is never reported missing, and only hits (still the right image) can be stale.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inlineBlobs } from '../src/cache/blobs.ts';
import type { CacheDb } from '../src/cache/db.ts';
import { ImageStore } from '../src/cache/store.ts';
import { createDb } from '../src/node/db.ts';
import { MIGRATIONS_DIR } from '../src/node.ts';
import { standInImage as image } from './support/stand-in-image.ts';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});


function open() {
  const { db, writeAtomically, close } = createDb(':memory:', MIGRATIONS_DIR);
  closers.push(close);
  return { db, writeAtomically };
}

describe('ImageStore with a read replica', () => {
  it('reads hits on the replica and its misses again on the primary', async () => {
    const primary = open();
    const replica = open();
    const sessions: CacheDb[] = [];
    const session = () => {
      sessions.push(replica.db);
      return replica.db;
    };
    const store = new ImageStore({ ...primary, replica: session }, inlineBlobs);
    closers.push(() => store.close());
    await new ImageStore(replica, inlineBlobs).save([image('a')]); // replicated earlier
    await store.save([image('a'), image('b')]); // 'b' not replicated yet

    const found = await store.lookup(['a', 'b', 'c'], true);
    expect([...found.keys()].sort()).toEqual(['a', 'b']);
    expect(Buffer.from(found.get('b')!.png!)).toEqual(Buffer.from(image('b').png));
    expect(sessions.length).toBe(1); // one session per lookup
    expect((await store.image('b'))?.etag).toBe(image('b').etag);
    expect(await store.image('c')).toBeNull();
  });
});
