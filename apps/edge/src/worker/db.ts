import type { BatchItem } from 'drizzle-orm/batch';
import { drizzle } from 'drizzle-orm/d1';
import type { CacheDatabase, CacheDb } from '../cache/db.ts';
import { schema } from '../cache/schema.ts';

/** The part of D1's Sessions API used here (D1Database.withSession). */
interface D1WithSessions {
  withSession?(constraintOrBookmark?: string): unknown;
}

/**
 * Workers' createDb(): the D1 binding through drizzle, and its atomic write, one D1 batch (D1 runs
 * a batch as one transaction). Migrations: `wrangler d1 migrations apply DB`.
 *
 * Image lookups read through `replica`: a new D1 session per lookup, 'first-unconstrained' (its
 * first query may be answered by the nearest read replica; any later query in the same session
 * sees at least what an earlier one saw, through the bookmark D1 keeps in the session). The store
 * reads a lookup's misses again on the primary (`db`, outside any session: always the primary), so
 * only hits can be stale, and a stale hit is still that key's image. Everything else (keys, rate
 * limits, writes, the cache's size total) goes to the primary.
 */
export function createDb(d1: unknown): CacheDatabase {
  const db = drizzle(d1 as Parameters<typeof drizzle>[0], { schema });
  const sessions = d1 as D1WithSessions;
  return {
    db: db as CacheDb,
    replica:
      typeof sessions.withSession === 'function'
        ? () => drizzle(sessions.withSession!('first-unconstrained') as Parameters<typeof drizzle>[0]) as unknown as CacheDb
        : undefined,
    async writeAtomically(statements) {
      if (statements.length === 0) return [];
      const results: unknown[] = await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
      // A query's rows come back as an array; a statement without RETURNING as D1's run result.
      return results.map((r) => (Array.isArray(r) ? r : []));
    },
  };
}
