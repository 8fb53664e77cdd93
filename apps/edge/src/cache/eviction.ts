import { and, eq, inArray, lt, lte } from 'drizzle-orm';
import type { BlobStore } from './blobs.ts';
import type { CacheDb } from './db.ts';
import { type Dialect, sqliteDialect } from './dialect.ts';

/** Limits on the image cache; 0 means no limit on that measure. */
export interface CacheBound {
  /** Most bytes: the sum of the `bytes` column (PNG sizes, whether inline or in R2). */
  readonly maxBytes: number;
  /** Most rows. */
  readonly maxEntries: number;
}

export interface CacheUsage {
  readonly bytes: number;
  readonly entries: number;
}

export interface SweepResult {
  readonly evicted: number;
  readonly freedBytes: number;
  /** The usage read after the last batch. */
  readonly usage: CacheUsage;
}

export interface EvictionOptions {
  /** Fraction of each bound a sweep evicts down to (default 0.9): one sweep buys room for many saves. */
  readonly lowWater?: number;
  /**
   * How long a usage reading stands before a save reads it again (default 5 s). Saves of this
   * process are added to it meanwhile; other processes' are not, so this bounds how long the cache
   * can run over its bound unnoticed.
   */
  readonly recheckMs?: number;
  /** Rows per DELETE (default 50; D1 allows 100 bound parameters per statement). */
  readonly batchRows?: number;
  /** Most rows one sweep evicts (default 5000), so it fits a Worker's waitUntil time; the next save goes on. */
  readonly maxRowsPerSweep?: number;
  readonly now?: () => number;
  readonly log?: (message: string, error?: unknown) => void;
  /** The database's dialect (default SQLite; the Postgres adapter gives its own). */
  readonly dialect?: Dialect;
}

/** Runs work after the response: ctx.waitUntil on Workers, a caught promise on Node. */
export type Background = (work: Promise<unknown>) => void;

/** "No entry is protected": a time after every row's last use (and a safe SQLite integer). */
const PROTECT_NONE = Number.MAX_SAFE_INTEGER;

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Keeps the image cache within a bound by evicting the least recently used entries ("used": the
 * last hit, else the creation; index images_lru). The total comes from `cache_stats`, which
 * triggers keep exact, so knowing it costs one primary-key read however large the cache is, and
 * every process sees every other's writes.
 *
 * A save reports here; when the last reading is stale or the estimate is over the bound, a sweep
 * runs in the background (off the response path). It reads the real total and, if over the
 * bound, deletes oldest-used rows in small batches until the total is at or below the low-water
 * mark. Each batch deletes rows first (DELETE ... RETURNING, so only the rows this statement
 * removed, with the blob keys they had), then their blobs: no row ever points at a missing blob,
 * and a crash between the two leaves an orphan object, never a dangling row. Several processes may
 * sweep at once: each re-reads the shared total after every batch and stops at the low-water mark,
 * rows another sweep took are simply not returned, and a row hit since it was picked is spared.
 * Rows used at or after the start of the saves that asked for the sweep are never taken, so a
 * just-generated image survives its own request.
 */
export class CacheEviction {
  private known: (CacheUsage & { at: number }) | null = null;
  private current: Promise<void> | null = null;
  private again = false;
  private protectFrom = PROTECT_NONE;
  private closed = false;
  private readonly lowWater: number;
  private readonly recheckMs: number;
  private readonly batchRows: number;
  private readonly maxRowsPerSweep: number;
  private readonly now: () => number;
  private readonly log: (message: string, error?: unknown) => void;
  private readonly dialect: Dialect;

  constructor(
    private readonly db: CacheDb,
    private readonly blobs: BlobStore,
    readonly bound: CacheBound,
    options: EvictionOptions = {},
  ) {
    this.lowWater = options.lowWater ?? 0.9;
    this.recheckMs = options.recheckMs ?? 5_000;
    this.batchRows = Math.min(options.batchRows ?? 50, 90);
    this.maxRowsPerSweep = options.maxRowsPerSweep ?? 5_000;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.dialect = options.dialect ?? sqliteDialect;
  }

  get enabled(): boolean {
    return this.bound.maxBytes > 0 || this.bound.maxEntries > 0;
  }

  /** The last reading plus this process's saves since; null before the first reading. */
  get estimate(): CacheUsage | null {
    return this.known && { bytes: this.known.bytes, entries: this.known.entries };
  }

  /**
   * Called once a save has committed, with its rows' sizes and creation times. Cheap: a sweep (a
   * usage read, then evictions if over) is handed to `background` only when the estimate is over
   * the bound or the last reading is stale, and never twice at once in one process.
   */
  afterSave(rows: readonly { readonly bytes: number; readonly createdAt: number }[], background: Background): void {
    if (!this.enabled || this.closed || rows.length === 0) return;
    if (this.known) {
      const bytes = rows.reduce((sum, r) => sum + r.bytes, 0);
      // A refresh replaces a row and is counted again: an overestimate, which only brings the next reading forward.
      this.known = { ...this.known, bytes: this.known.bytes + bytes, entries: this.known.entries + rows.length };
    }
    this.protectFrom = Math.min(this.protectFrom, ...rows.map((r) => r.createdAt));
    if (this.current) {
      this.again = true;
      return;
    }
    if (!this.due()) {
      this.protectFrom = PROTECT_NONE;
      return;
    }
    this.current = this.run().finally(() => {
      this.current = null;
    });
    background(this.current);
  }

  /** Waits for a running sweep and starts no more (call before closing the database). */
  async close(): Promise<void> {
    this.closed = true;
    await this.current;
  }

  /** The exact total, from cache_stats (recounted once if its row is missing). */
  async usage(): Promise<CacheUsage> {
    let [row] = await this.readStats();
    if (!row) {
      // The triggers only update the row; without it nothing is counted. One statement, so it is atomic.
      await this.dialect.run(this.db, this.dialect.recountCacheStats);
      [row] = await this.readStats();
    }
    const usage = { bytes: row?.bytes ?? 0, entries: row?.entries ?? 0 };
    this.known = { ...usage, at: this.now() };
    return usage;
  }

  /**
   * Evicts least recently used rows (none used at or after `protectFrom`) while the total is over
   * the bound, down to the low-water mark. Safe to run in several processes at once.
   */
  async sweep(protectFrom = PROTECT_NONE): Promise<SweepResult> {
    let usage = await this.usage();
    let evicted = 0;
    let freedBytes = 0;
    if (!this.over(usage, 1)) return { evicted, freedBytes, usage };
    const { images } = this.dialect.tables;
    const { lastUsed } = this.dialect;
    let idle = 0;
    while (this.over(usage, this.lowWater) && evicted < this.maxRowsPerSweep && idle < 3) {
      const victims = await this.db
        .select({ key: images.key, bytes: images.byteLength, used: lastUsed })
        .from(images)
        .where(lt(lastUsed, protectFrom))
        .orderBy(lastUsed)
        .limit(this.batchRows);
      if (victims.length === 0) break;
      const chosen = this.enough(victims, usage);
      const deleted = await this.db
        .delete(images)
        // A row hit since it was picked is newer than the newest pick: it stays.
        .where(
          and(
            inArray(
              images.key,
              chosen.map((v) => v.key),
            ),
            lte(lastUsed, chosen[chosen.length - 1].used),
          ),
        )
        .returning({ blobKey: images.blobKey, bytes: images.byteLength });
      const blobKeys = deleted.flatMap((d) => (d.blobKey ? [d.blobKey] : []));
      if (blobKeys.length > 0) {
        await this.blobs.delete(blobKeys).catch((error) => this.log(`cache eviction: ${blobKeys.length} evicted objects stay in the blob store`, error));
      }
      evicted += deleted.length;
      freedBytes += deleted.reduce((sum, d) => sum + d.bytes, 0);
      // Nothing deleted: another sweep took these rows, or they were hit; re-read and try the next ones.
      idle = deleted.length === 0 ? idle + 1 : 0;
      usage = await this.usage();
      // better-sqlite3 is synchronous: let requests in between batches.
      await nextTurn();
    }
    return { evicted, freedBytes, usage };
  }

  /** Whether a reading is due before trusting the estimate. */
  private due(): boolean {
    const known = this.known;
    return !known || this.now() - known.at >= this.recheckMs || this.over(known, 1);
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      const protectFrom = this.protectFrom;
      this.protectFrom = PROTECT_NONE;
      // Off the response path: the request whose save asked for this answers first.
      await nextTurn();
      try {
        const { evicted, freedBytes } = await this.sweep(protectFrom);
        if (evicted > 0) this.log(`cache eviction: ${evicted} images (${freedBytes} bytes) evicted`);
      } catch (error) {
        // A busy or locked database: nothing half-done (each batch is one statement, blobs after
        // rows). Forget the reading so that the next save tries again.
        this.known = null;
        this.log('cache eviction failed; the next save retries', error);
      }
    } while (this.again && !this.closed && this.due());
    this.protectFrom = PROTECT_NONE;
  }

  /** The oldest victims whose removal brings both measures down to the low-water mark (at least one). */
  private enough<T extends { bytes: number }>(victims: readonly T[], usage: CacheUsage): T[] {
    const { maxBytes, maxEntries } = this.bound;
    const bytesOver = maxBytes > 0 ? usage.bytes - Math.floor(maxBytes * this.lowWater) : 0;
    const entriesOver = maxEntries > 0 ? usage.entries - Math.floor(maxEntries * this.lowWater) : 0;
    let bytes = 0;
    let n = 0;
    while (n < victims.length && (n === 0 || bytes < bytesOver || n < entriesOver)) bytes += victims[n++].bytes;
    return victims.slice(0, n);
  }

  /** Whether `usage` is above `fraction` of either bound. */
  private over(usage: CacheUsage, fraction: number): boolean {
    const { maxBytes, maxEntries } = this.bound;
    return (maxBytes > 0 && usage.bytes > Math.floor(maxBytes * fraction)) || (maxEntries > 0 && usage.entries > Math.floor(maxEntries * fraction));
  }

  private readStats() {
    const { cacheStats } = this.dialect.tables;
    return this.db.select({ bytes: cacheStats.bytes, entries: cacheStats.entries }).from(cacheStats).where(eq(cacheStats.id, 1));
  }
}
