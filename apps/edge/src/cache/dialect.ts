import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import { apiKeys, rateLimits } from '../auth/schema.ts';
import type { CacheDb } from './db.ts';
import { cacheStats, idempotencyKeys, images } from './schema.ts';

/**
 * The gateway's tables as its queries see them. SQLite (D1, better-sqlite3) uses the sqlite-core
 * definitions; Postgres (node/pg/schema.ts) has its own pg-core ones with the same table and
 * column names and the same JS types (test: apps/edge/test/pg-schema.test.ts), handed in under
 * these types so that one store implementation builds the queries for both.
 */
export interface Tables {
  readonly images: typeof images;
  readonly cacheStats: typeof cacheStats;
  readonly apiKeys: typeof apiKeys;
  readonly rateLimits: typeof rateLimits;
  readonly idempotencyKeys: typeof idempotencyKeys;
}

/** A query run by a prepared statement with named placeholders (sql.placeholder). */
export interface Prepared<R> {
  all(params: Record<string, unknown>): Promise<R[]>;
  run(params: Record<string, unknown>): Promise<unknown>;
}

/** A query builder that can be prepared (SQLite: prepare(); Postgres: prepare(name)). */
interface Preparable {
  prepare(name?: string): unknown;
}

/**
 * What differs between the SQL databases the gateway runs on, beyond what drizzle's builders
 * hide: the tables, a few SQL functions, prepared statements and running raw SQL. Everything
 * else (the store, eviction, keys, rate limits, the gallery) is one implementation.
 */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  readonly tables: Tables;
  /** When an entry was last used: its last hit, else its creation (the eviction order; index images_lru). */
  readonly lastUsed: SQL<number>;
  /** The smaller / larger of two numbers (SQLite's scalar min/max, Postgres's least/greatest). */
  min(a: SQLWrapper, b: SQLWrapper): SQL<number>;
  max(a: SQLWrapper, b: SQLWrapper): SQL<number>;
  /** A bound number as a float / an integer in an expression (Postgres must be told; SQLite needs no cast). */
  float(value: number): SQL<number>;
  int(value: number): SQL<number>;
  /** One statement: rewrites cache_stats from a count of `images` (the triggers keep it exact afterwards). */
  readonly recountCacheStats: SQL;
  /** Runs a statement that returns no rows. */
  run(db: CacheDb, statement: SQL): Promise<unknown>;
  /** Prepares `query` once; `name` names it where the driver wants a name (Postgres). */
  prepare<R>(query: Preparable, name: string): Prepared<R>;
}

interface SqlitePrepared {
  all(params?: Record<string, unknown>): unknown;
  run(params?: Record<string, unknown>): unknown;
}

/** SQLite: D1 on Workers, better-sqlite3 on Node. */
export const sqliteDialect: Dialect = {
  name: 'sqlite',
  tables: { images, cacheStats, apiKeys, rateLimits, idempotencyKeys },
  lastUsed: sql<number>`coalesce(${images.lastHitAt}, ${images.createdAt})`,
  min: (a, b) => sql<number>`min(${a}, ${b})`,
  max: (a, b) => sql<number>`max(${a}, ${b})`,
  float: (value) => sql<number>`${value}`,
  int: (value) => sql<number>`${value}`,
  recountCacheStats: sql`INSERT OR REPLACE INTO cache_stats (id, bytes, entries) SELECT 1, coalesce(sum(bytes), 0), count(*) FROM images`,
  run: (db, statement) => Promise.resolve(db.run(statement)),
  prepare<R>(query: Preparable): Prepared<R> {
    const prepared = query.prepare() as SqlitePrepared;
    return {
      all: async (params) => (await prepared.all(params)) as R[],
      run: async (params) => prepared.run(params),
    };
  },
};
