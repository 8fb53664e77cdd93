import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { AtomicStatement, CacheDatabase } from '../cache/db.ts';
import { schema } from '../cache/schema.ts';

/**
 * How long a write waits for another connection's lock before SQLITE_BUSY (then a 503 with
 * Retry-After). better-sqlite3 is synchronous, so this wait blocks the event loop: keep it short.
 */
export const BUSY_TIMEOUT_MS = 250;

/** A drizzle query built on the better-sqlite3 database: it runs synchronously. */
interface SyncQuery {
  toSQL(): { sql: string };
  all(): unknown[];
  run(): unknown;
}

/**
 * Node's createDb(): a SQLite file (or ":memory:") through better-sqlite3, migrated to the latest
 * /migrations on open. WAL lets readers and the writer overlap; NORMAL sync is durable across
 * process crashes (a power cut may lose the last commits, which a cache can afford). Its atomic
 * write is one IMMEDIATE transaction (the write lock taken at BEGIN, so a busy database fails
 * before anything ran).
 */
export function createDb(file: string, migrationsFolder: string, options: { busyTimeoutMs?: number } = {}): CacheDatabase & { close(): void } {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? BUSY_TIMEOUT_MS}`);
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder });
  // better-sqlite3 runs a statement that returns rows with all() and any other with run().
  const rowsOf = (statement: AtomicStatement): unknown[] => {
    const query = statement as unknown as SyncQuery;
    if (!sqlite.prepare(query.toSQL().sql).reader) {
      query.run();
      return [];
    }
    return query.all();
  };
  const transaction = sqlite.transaction((statements: readonly AtomicStatement[]) => statements.map(rowsOf));
  return {
    db,
    writeAtomically: async (statements) => transaction.immediate(statements),
    close: () => sqlite.close(),
  };
}
