import { drizzle } from 'drizzle-orm/d1';
import type { CacheDb } from '../cache/db.ts';
import { schema } from '../cache/schema.ts';

/** Workers' createDb(): the D1 binding through drizzle. Migrations: `wrangler d1 migrations apply DB`. */
export function createDb(d1: unknown): CacheDb {
  return drizzle(d1 as Parameters<typeof drizzle>[0], { schema });
}
