import { and, eq, getTableColumns, inArray, isNotNull, sql } from 'drizzle-orm';
import type { BlobStore } from './blobs.ts';
import type { CacheDatabase, CacheDb, WriteAtomically } from './db.ts';
import { type Prepared, sqliteDialect, type Tables } from './dialect.ts';
import type { Background, CacheEviction } from './eviction.ts';
import type { ImageRow, NewImageRow } from './schema.ts';

/** A cached image as the API needs it: identity, validator and (when asked for) the bytes. */
export interface CachedImage {
  readonly key: string;
  readonly etag: string;
  readonly png?: Uint8Array;
}

export type ImageMeta = Omit<ImageRow, 'png' | 'blobKey'>;

/** An image to store: its row fields and its PNG. */
export type ImageToStore = Omit<ImageRow, 'png' | 'blobKey' | 'hitCount' | 'lastHitAt' | 'byteLength' | 'etag'> & { png: Uint8Array; etag: string };

export interface ImageStoreOptions {
  readonly now?: () => number;
  readonly hitFlushMs?: number;
  /** Keeps the cache within its bound after saves (none: unbounded). */
  readonly eviction?: CacheEviction;
  /**
   * Runs save follow-ups after the response (eviction sweeps, deleting replaced blobs): the
   * runtime's own, since a save is not handed the request's defer (Workers: `waitUntil` from
   * cloudflare:workers, which finds the current request itself). Default: a caught promise.
   */
  readonly background?: Background;
  readonly log?: (message: string, error?: unknown) => void;
}

/** The prompt cache: rows in SQLite/D1 (drizzle), PNG bytes inline or in a BlobStore. */
export class ImageStore {
  /** Prepared once: the hot path (a one-image cache hit) then skips query building and SQL parsing. */
  private readonly one: {
    readonly id: Prepared<{ key: string; etag: string }>;
    readonly png: Prepared<{ key: string; etag: string; png: Uint8Array | null; blobKey: string | null }>;
    readonly hit: Prepared<never>;
  };
  private readonly images: Tables['images'];
  private pendingHits = new Map<string, number>();
  private flushScheduled = false;
  private closed = false;

  private readonly background: Background;
  private readonly db: CacheDb;
  private readonly replica: (() => CacheDb) | undefined;
  private readonly writeAtomically: WriteAtomically;

  constructor(
    database: CacheDatabase,
    private readonly blobs: BlobStore,
    private readonly options: ImageStoreOptions = {},
  ) {
    const { db } = database;
    const dialect = database.dialect ?? sqliteDialect;
    const { images } = dialect.tables;
    this.images = images;
    this.db = db;
    this.replica = database.replica;
    this.writeAtomically = database.writeAtomically;
    const log = options.log ?? (() => undefined);
    this.background = options.background ?? ((work) => void work.catch((error) => log('cache background work failed', error)));
    const key = sql.placeholder('key');
    this.one = {
      id: dialect.prepare(db.select({ key: images.key, etag: images.etag }).from(images).where(eq(images.key, key)), 'image_id'),
      png: dialect.prepare(
        db.select({ key: images.key, etag: images.etag, png: images.png, blobKey: images.blobKey }).from(images).where(eq(images.key, key)),
        'image_png',
      ),
      hit: dialect.prepare(
        db
          .update(images)
          .set({ hitCount: sql`${images.hitCount} + ${sql.placeholder('hits')}`, lastHitAt: sql`${sql.placeholder('now')}` })
          .where(eq(images.key, key)),
        'image_hit',
      ),
    };
  }

  /** The size bound and its running estimate (for health output), if the cache is bounded. */
  get eviction(): CacheEviction | undefined {
    return this.options.eviction;
  }

  /**
   * The cached subset of `keys`; bytes only when `withPng` (a url response needs none). With a
   * replica (D1 read replication) the keys are read there first and only its misses again on the
   * primary: a replica may lag, and a hit there is still right (a key's row only ever holds that
   * key's image), but a miss may be an image just made elsewhere.
   */
  async lookup(keys: readonly string[], withPng: boolean): Promise<Map<string, CachedImage>> {
    if (!this.replica || keys.length === 0) return this.lookupOn(this.db, keys, withPng, true);
    const found = await this.lookupOn(this.replica(), keys, withPng, false);
    const missed = keys.filter((k) => !found.has(k));
    if (missed.length > 0) for (const [key, image] of await this.lookupOn(this.db, missed, withPng, true)) found.set(key, image);
    return found;
  }

  /** lookup() on one database; `prepared`: the primary's prepared one-key statements may be used. */
  private async lookupOn(db: CacheDb, keys: readonly string[], withPng: boolean, prepared: boolean): Promise<Map<string, CachedImage>> {
    const found = new Map<string, CachedImage>();
    if (keys.length === 0) return found;
    const one = prepared && keys.length === 1 ? { key: keys[0] } : null;
    const images = this.images;
    const where = inArray(images.key, [...keys]);
    if (!withPng) {
      const rows = one ? await this.one.id.all(one) : await db.select({ key: images.key, etag: images.etag }).from(images).where(where);
      for (const row of rows) found.set(row.key, row);
      return found;
    }
    const rows = one
      ? await this.one.png.all(one)
      : await db.select({ key: images.key, etag: images.etag, png: images.png, blobKey: images.blobKey }).from(images).where(where);
    for (const row of rows) {
      const png = await this.bytesOf(row);
      if (png) found.set(row.key, { key: row.key, etag: row.etag, png }); // a row whose bytes are gone counts as a miss
    }
    return found;
  }

  /** One image with its bytes (GET /v1/images/{id}.png), or null. */
  async image(key: string): Promise<CachedImage | null> {
    return (await this.lookup([key], true)).get(key) ?? null;
  }

  async etag(key: string): Promise<string | null> {
    const [row] = await this.one.id.all({ key });
    return row?.etag ?? null;
  }

  async meta(key: string): Promise<ImageMeta | null> {
    const images = this.images;
    const { png: _png, blobKey: _blobKey, ...cols } = getTableColumns(images);
    const [row] = await this.db.select(cols).from(images).where(eq(images.key, key));
    return row ?? null;
  }

  /**
   * Stores finished images (inserts, or replaces on refresh; the hit count survives, the last-hit
   * time restarts with the new image). Blobs are written before rows, so no row ever points at
   * missing bytes, and the rows of one batch go in one transaction (the database adapter's
   * writeAtomically), so a failed or locked write leaves none of them: a request's images
   * are stored all or not at all (and its fresh blobs are deleted again). Blobs of replaced rows
   * are deleted after the commit, and the eviction bound is checked, both in the background.
   */
  async save(list: readonly ImageToStore[]): Promise<void> {
    if (list.length === 0) return;
    const blobKeys = await Promise.all(list.map((img) => this.blobs.put(img.key, img.png)));
    const fresh = blobKeys.filter((k): k is string => k !== null);
    const rows: NewImageRow[] = list.map(({ png, ...fields }, i) => ({
      ...fields,
      png: blobKeys[i] ? null : png,
      blobKey: blobKeys[i],
      byteLength: png.byteLength,
    }));
    let replaced: string[];
    try {
      replaced = await this.writeRows(rows, fresh.length > 0);
    } catch (error) {
      if (fresh.length > 0) this.background(this.blobs.delete(fresh));
      throw error;
    }
    const stale = replaced.filter((k) => !fresh.includes(k));
    if (stale.length > 0) this.background(this.blobs.delete(stale));
    this.options.eviction?.afterSave(
      rows.map((r) => ({ bytes: r.byteLength, createdAt: r.createdAt })),
      this.background,
    );
  }

  /**
   * Upserts `rows` atomically; with `readReplaced`, also returns the blob keys of the rows they
   * replace, read in the same transaction (so exactly the versions overwritten).
   */
  private async writeRows(rows: readonly NewImageRow[], readReplaced: boolean): Promise<string[]> {
    const images = this.images;
    const upserts = rows.map((row) => {
      const { key: _key, ...update } = row;
      return this.db
        .insert(images)
        .values(row)
        .onConflictDoUpdate({ target: images.key, set: { ...update, lastHitAt: null } });
    });
    if (upserts.length === 1 && !readReplaced) {
      await upserts[0];
      return [];
    }
    const keys = rows.map((r) => r.key);
    const previous = this.db
      .select({ blobKey: images.blobKey })
      .from(images)
      .where(and(inArray(images.key, keys), isNotNull(images.blobKey)));
    const results = await this.writeAtomically(readReplaced ? [previous, ...upserts] : upserts);
    if (!readReplaced) return [];
    return (results[0] as { blobKey: string | null }[]).flatMap((r) => (r.blobKey ? [r.blobKey] : []));
  }

  /**
   * Counts cache hits. Counts are buffered and written at most once per `hitFlushMs` (default 1 s),
   * one UPDATE per key, by work handed to `defer` (ctx.waitUntil on Workers): a hot entry is not
   * rewritten, PNG and all, on every hit. A crash loses at most that window of counts.
   */
  recordHits(keys: readonly string[], defer: (work: Promise<unknown>) => void): void {
    for (const key of keys) this.pendingHits.set(key, (this.pendingHits.get(key) ?? 0) + 1);
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    const wait = this.options.hitFlushMs ?? 1_000;
    defer(new Promise((resolve) => setTimeout(resolve, wait)).then(() => this.flushHits()));
  }

  /** Writes the buffered hit counts now. */
  async flushHits(): Promise<void> {
    const batch = this.pendingHits;
    this.pendingHits = new Map();
    this.flushScheduled = false;
    if (this.closed) return;
    const now = (this.options.now ?? Date.now)();
    for (const [key, hits] of batch) await this.one.hit.run({ key, hits, now });
  }

  /** Flushes hit counts and waits for a running eviction sweep; later hits are dropped (call before closing the database). */
  async close(): Promise<void> {
    await this.flushHits();
    await this.options.eviction?.close();
    this.closed = true;
  }

  private async bytesOf(row: { png?: Uint8Array | null; blobKey?: string | null }): Promise<Uint8Array | null> {
    if (row.png) return row.png;
    return row.blobKey ? this.blobs.get(row.blobKey) : null;
  }
}
