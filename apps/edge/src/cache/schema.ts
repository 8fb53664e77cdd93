import { sql } from 'drizzle-orm';
import { customType, index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * A BLOB as a plain Uint8Array. drizzle's own blob column needs Node's Buffer, which Workers lack;
 * better-sqlite3 returns a Buffer (a Uint8Array), D1 an ArrayBuffer or an array of bytes.
 */
const bytes = customType<{ data: Uint8Array; driverData: Uint8Array | ArrayBuffer | number[] }>({
  dataType: () => 'blob',
  toDriver: (value) => value,
  fromDriver: (value) => (value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer)),
});

/**
 * One generated image per row, keyed by its cache key (see key.ts). No driver code here: D1 on
 * Workers and better-sqlite3 on Node run the same schema, migrated from the SQL in /migrations.
 */
export const images = sqliteTable(
  'images',
  {
    /** sha256 hex of (bundle content hash, normalised prompt, seed, psi, size); also the public image id. */
    key: text('key').primaryKey(),
    model: text('model').notNull(),
    contentHash: text('content_hash').notNull(),
    /** The prompt as the key saw it (normalised), for inspection. */
    prompt: text('prompt').notNull(),
    seed: integer('seed').notNull(),
    psi: real('psi').notNull(),
    size: text('size').notNull(),
    /** The PNG itself, or null when it lives in R2 under `blobKey`. */
    png: bytes('png'),
    blobKey: text('blob_key'),
    byteLength: integer('bytes').notNull(),
    /** sha256 hex of the PNG bytes: the strong ETag. */
    etag: text('etag').notNull(),
    /** Where it was generated: 'wasm' or 'runner'. */
    route: text('route').notNull(),
    /** Wall time of the generation call that made it, and the runner's own run time when known. */
    generateMs: real('generate_ms').notNull(),
    runMs: real('run_ms'),
    createdAt: integer('created_at').notNull(),
    hitCount: integer('hit_count').notNull().default(0),
    lastHitAt: integer('last_hit_at'),
  },
  (t) => [
    index('images_created_at').on(t.createdAt),
    // Eviction order, least recently used first (cache/eviction.ts): "used" is the last hit, else
    // the creation. An expression index, so a sweep reads the oldest entries without a full scan.
    index('images_lru').on(sql`coalesce(${t.lastHitAt}, ${t.createdAt})`),
  ],
);

/**
 * The cache's running size (one row, id 1), kept exact by triggers on `images`: every process and
 * isolate reads the same total with one primary-key lookup instead of summing the table. Its DDL,
 * seed and triggers are hand-written SQL in migrations/0002_lru_eviction.sql, one unit that
 * drizzle-kit cannot express (it has no triggers), so this table is deliberately not exported from
 * src/schema.ts (drizzle-kit's input): it is here only for typed queries.
 */
export const cacheStats = sqliteTable('cache_stats', {
  id: integer('id').primaryKey(),
  /** Sum of `images.bytes`. */
  bytes: integer('bytes').notNull(),
  /** Number of `images` rows. */
  entries: integer('entries').notNull(),
});

/**
 * Idempotency-Key claims and stored first responses (api/idempotency.ts), one row per caller scope
 * ("key:<id>" or "ip:<address>") and key. A row is claimed by an INSERT that fails on conflict;
 * `running` while the first request runs, `done` with its 2xx response (status, bytes, content type)
 * for replay. A row older than 24 h (or a `running` row past its lease) is replaced on the key's next use.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** sha256 hex of the route and the request body bytes. */
    bodySha256: text('body_sha256').notNull(),
    /** 'running' or 'done'. */
    state: text('state').notNull(),
    status: integer('status'),
    body: bytes('body'),
    contentType: text('content_type'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] })],
);

/** When an entry was last used: its last hit, else its creation. The eviction order; images_lru indexes exactly this. */
export const lastUsed = sql<number>`coalesce(${images.lastHitAt}, ${images.createdAt})`;

export const schema = { images, cacheStats };
export type ImageRow = typeof images.$inferSelect;
export type NewImageRow = typeof images.$inferInsert;
