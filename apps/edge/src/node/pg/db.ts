import { AsyncLocalStorage } from 'node:async_hooks';
import { sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { CacheDatabase, CacheDb, WriteAtomically } from '../../cache/db.ts';
import type { Dialect, Prepared, Tables } from '../../cache/dialect.ts';
import * as pgSchema from './schema.ts';

/** Whether DATABASE_URL names a Postgres database (postgres:// or postgresql://). */
export function isPostgresUrl(url: unknown): url is string {
  return typeof url === 'string' && /^postgres(ql)?:\/\//i.test(url.trim());
}

const { images, cacheStats, apiKeys, rateLimits, idempotencyKeys } = pgSchema;

interface PgPrepared {
  execute(params?: Record<string, unknown>): Promise<unknown>;
}

/**
 * Postgres's dialect: its pg-core tables under the shared types (same names and JS types: test
 * apps/edge/test/pg-schema.test.ts), least/greatest for SQLite's scalar min/max, explicit casts
 * where a bound number's type cannot be inferred (a float times a bigint would be read as a
 * bigint), an upsert for the recount, named prepared statements.
 */
export const pgDialect: Dialect = {
  name: 'postgres',
  tables: { images, cacheStats, apiKeys, rateLimits, idempotencyKeys } as unknown as Tables,
  lastUsed: sql<number>`coalesce(${images.lastHitAt}, ${images.createdAt})`.mapWith(Number),
  min: (a, b) => sql<number>`least(${a}, ${b})`,
  max: (a, b) => sql<number>`greatest(${a}, ${b})`,
  float: (value) => sql<number>`${value}::double precision`,
  int: (value) => sql<number>`${value}::bigint`,
  recountCacheStats: sql`INSERT INTO cache_stats (id, bytes, entries) SELECT 1, coalesce(sum(bytes), 0), count(*) FROM images
    ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, entries = excluded.entries`,
  run: (db, statement) => (db as unknown as NodePgDatabase).execute(statement),
  prepare<R>(query: { prepare(name?: string): unknown }, name: string): Prepared<R> {
    const prepared = query.prepare(name) as PgPrepared;
    return {
      all: async (params) => (await prepared.execute(params)) as R[],
      run: (params) => prepared.execute(params),
    };
  },
};

/** Any number: the lock that serialises migrations when several gateways start at once. */
const MIGRATION_LOCK = 0x61757230;

export interface PgDatabase extends CacheDatabase {
  readonly dialect: Dialect;
  readonly pool: pg.Pool;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Node's createDb() for Postgres (DATABASE_URL=postgres://...): a node-postgres pool through
 * drizzle, migrated to the latest /migrations-pg on open (under an advisory lock, so gateways
 * starting together migrate once). Its atomic write is one transaction on one pooled connection:
 * the statements were built on the pool-wide database, so while it runs, queries made in its
 * async context are routed to that connection (AsyncLocalStorage), and everyone else's to the pool.
 */
export async function createPgDb(
  url: string,
  migrationsFolder: string,
  options: { poolMax?: number; log?: (message: string, error?: unknown) => void } = {},
): Promise<PgDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolMax ?? 10 });
  // An idle connection's error (the server restarted) must not crash the process; the pool drops it.
  pool.on('error', (error) => options.log?.('postgres: an idle connection failed', error));
  const inTransaction = new AsyncLocalStorage<pg.PoolClient>();
  const poolQuery = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; this forwards every one.
  (pool as any).query = (...args: unknown[]) => {
    const client = inTransaction.getStore();
    return client ? (client.query as (...a: unknown[]) => unknown)(...args) : poolQuery(...args);
  };
  const db = drizzle(pool, { schema: pgSchema });
  try {
    const lock = await pool.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await migrate(db, { migrationsFolder });
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      lock.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const writeAtomically: WriteAtomically = async (statements) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const results = await inTransaction.run(client, async () => {
        const out: unknown[][] = [];
        for (const statement of statements) {
          const result = await (statement as unknown as PromiseLike<unknown>);
          out.push(Array.isArray(result) ? result : []);
        }
        return out;
      });
      await client.query('COMMIT');
      return results;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  return {
    db: db as unknown as CacheDb,
    writeAtomically,
    dialect: pgDialect,
    pool,
    url,
    close: () => pool.end(),
  };
}
