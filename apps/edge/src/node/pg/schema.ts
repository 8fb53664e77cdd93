import { sql } from 'drizzle-orm';
import { bigint, customType, doublePrecision, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

/**
 * The gateway's tables on Postgres: the same tables, columns and indexes as the SQLite schema
 * (cache/schema.ts, auth/schema.ts), kept in step by apps/edge/test/pg-schema.test.ts. The kinds
 * map SQLite's to Postgres's: text -> text, integer -> integer or bigint (unix-ms times, seeds up to
 * 2^32 - 1 and byte totals do not fit int4; read back as JS numbers), real -> double precision
 * (SQLite's real is 8 bytes), blob -> bytea. Migrations: /migrations-pg (drizzle-kit, from
 * src/schema.pg.ts), applied at start by node/pg/db.ts.
 */

/** PNG bytes as a plain Uint8Array (node-postgres reads bytea as a Buffer and writes a Buffer). */
const bytea = customType<{ data: Uint8Array; driverData: Buffer }>({
  dataType: () => 'bytea',
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
});

/** A bigint column read as a JS number (every value here is below 2^53). */
const int8 = (name: string) => bigint(name, { mode: 'number' });

export const images = pgTable(
  'images',
  {
    key: text('key').primaryKey(),
    model: text('model').notNull(),
    contentHash: text('content_hash').notNull(),
    prompt: text('prompt').notNull(),
    seed: int8('seed').notNull(),
    psi: doublePrecision('psi').notNull(),
    size: text('size').notNull(),
    png: bytea('png'),
    blobKey: text('blob_key'),
    byteLength: int8('bytes').notNull(),
    etag: text('etag').notNull(),
    route: text('route').notNull(),
    generateMs: doublePrecision('generate_ms').notNull(),
    runMs: doublePrecision('run_ms'),
    createdAt: int8('created_at').notNull(),
    hitCount: integer('hit_count').notNull().default(0),
    lastHitAt: int8('last_hit_at'),
  },
  (t) => [index('images_created_at').on(t.createdAt), index('images_lru').on(sql`coalesce(${t.lastHitAt}, ${t.createdAt})`)],
);

/**
 * The cache's running size (one row, id 1), kept exact by triggers: hand-written in
 * migrations-pg/0001_lru_eviction.sql as on SQLite, so not in drizzle-kit's input (src/schema.pg.ts).
 */
export const cacheStats = pgTable('cache_stats', {
  id: integer('id').primaryKey(),
  bytes: int8('bytes').notNull(),
  entries: int8('entries').notNull(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    keyHash: text('key_hash').notNull().unique(),
    origins: text('origins').notNull(),
    rpm: integer('rpm').notNull(),
    createdAt: int8('created_at').notNull(),
    revokedAt: int8('revoked_at'),
    webhookSecret: text('webhook_secret'),
  },
  (t) => [index('api_keys_name').on(t.name)],
);

export const rateLimits = pgTable('rate_limits', {
  bucket: text('bucket').primaryKey(),
  tokens: doublePrecision('tokens').notNull(),
  updatedAt: int8('updated_at').notNull(),
});

/** Idempotency-Key claims and stored first responses (cache/schema.ts idempotencyKeys, api/idempotency.ts). */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    bodySha256: text('body_sha256').notNull(),
    state: text('state').notNull(),
    status: integer('status'),
    body: bytea('body'),
    contentType: text('content_type'),
    createdAt: int8('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] })],
);

/**
 * Postgres only: who is generating which image right now, across gateways (node/pg/flight.ts).
 * A claim is its owner's until `expires_at` (unix ms on the database's clock), which the owner
 * pushes forward while it works; a claim past it is anyone's, so a gateway that died holding one
 * blocks the key for at most one lease. One SQLite file is one gateway: it has no such table.
 */
export const generationClaims = pgTable('generation_claims', {
  key: text('key').primaryKey(),
  owner: text('owner').notNull(),
  expiresAt: int8('expires_at').notNull(),
});
