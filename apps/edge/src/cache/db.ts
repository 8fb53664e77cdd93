import type { BatchItem } from 'drizzle-orm/batch';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type { Dialect } from './dialect.ts';
import type { schema } from './schema.ts';

/**
 * The database every part of the gateway talks to: drizzle over SQLite, sync (better-sqlite3 on
 * Node) or async (D1 on Workers). Each runtime entry provides a `createDb()` returning one; the
 * queries are awaited, so the same code runs on both.
 */
// biome-ignore lint/suspicious/noExplicitAny: drizzle's run-result type differs per driver.
export type CacheDb = BaseSQLiteDatabase<'sync' | 'async', any, typeof schema>;

/** A statement of an atomic write: a drizzle query (select, insert, update, delete) built on the adapter's CacheDb, not yet run. */
export type AtomicStatement = BatchItem<'sqlite'>;

/**
 * Runs `statements` in order as one transaction: all of them or, when one fails (or the database
 * is locked), none, and rejects. Resolves with each statement's rows (a select's, or those of a
 * RETURNING clause; [] for a statement that returns none). Each database adapter provides its own:
 * D1 one batch (worker/db.ts), better-sqlite3 one IMMEDIATE transaction (node/db.ts).
 */
export type WriteAtomically = (statements: readonly AtomicStatement[]) => Promise<unknown[][]>;

/**
 * What a runtime's database adapter gives the gateway: the drizzle database, its atomic write and
 * its dialect (default SQLite; the Postgres adapter, node/pg/db.ts, hands in its own: its tables
 * and the few SQL differences, so the queries stay one implementation).
 */
export interface CacheDatabase {
  readonly db: CacheDb;
  readonly writeAtomically: WriteAtomically;
  readonly dialect?: Dialect;
  /**
   * A fresh read session that may answer from a read replica (Workers: a D1 session,
   * withSession('first-unconstrained')), for the image lookups only, whose misses are read again
   * on `db` (ImageStore.lookup). None: every read goes to `db`.
   */
  readonly replica?: () => CacheDb;
}
