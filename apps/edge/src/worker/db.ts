import type { BatchItem } from 'drizzle-orm/batch';
import { drizzle } from 'drizzle-orm/d1';
import type { CacheDatabase, CacheDb } from '../cache/db.ts';
import { schema } from '../cache/schema.ts';

/**
 * Workers' createDb(): the D1 binding through drizzle, and its atomic write, one D1 batch (D1 runs
 * a batch as one transaction). Migrations: `wrangler d1 migrations apply DB`.
 */
export function createDb(d1: unknown): CacheDatabase {
  const db = drizzle(d1 as Parameters<typeof drizzle>[0], { schema });
  return {
    db: db as CacheDb,
    async writeAtomically(statements) {
      if (statements.length === 0) return [];
      const results: unknown[] = await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
      // A query's rows come back as an array; a statement without RETURNING as D1's run result.
      return results.map((r) => (Array.isArray(r) ? r : []));
    },
  };
}
