import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type { schema } from './schema.ts';

/**
 * The database every part of the gateway talks to: drizzle over SQLite, sync (better-sqlite3 on
 * Node) or async (D1 on Workers). Each runtime entry provides a `createDb()` returning one; the
 * queries are awaited, so the same code runs on both.
 */
// biome-ignore lint/suspicious/noExplicitAny: drizzle's run-result type differs per driver.
export type CacheDb = BaseSQLiteDatabase<'sync' | 'async', any, typeof schema>;
