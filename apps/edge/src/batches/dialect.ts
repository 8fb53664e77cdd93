import { type SQL, type SQLWrapper, sql } from 'drizzle-orm';
import type { AtomicStatement, CacheDb } from '../cache/db.ts';
import type { Dialect } from '../cache/dialect.ts';
import { batchEvents, batches, batchItems, webhookDeliveries } from './schema.ts';

/** A batch_items row to insert at creation (the store's create builds them). */
export type NewItemRow = typeof batchItems.$inferInsert;

/**
 * Statements of an atomic write are bounded by the database: D1 binds at most 100 parameters per
 * statement (a multi-row VALUES of 13 columns fits 7 rows), takes at most 100 KB of SQL text and
 * 2 MB per bound string, and counts queries per Worker invocation. So on SQLite (D1 and
 * better-sqlite3 alike) lists go as ONE bound JSON text, expanded in SQL by json_each: a chunk of
 * rows costs 4 parameters, and a 10,000-item batch a handful of statements.
 */
export const JSON_CHUNK_BYTES = 512 * 1024;
/** Rows per multi-row INSERT on Postgres: 13 columns each, within its 65,535 parameters. */
const PG_INSERT_CHUNK = 2_000;

/**
 * The batch tables as the store's queries see them: SQLite's (batches/schema.ts) or Postgres's
 * (batches/schema.pg.ts, same names and JS types) under SQLite's types, as cache/dialect.ts does for the cache.
 */
export interface BatchTables {
  readonly batches: typeof batches;
  readonly batchItems: typeof batchItems;
  readonly batchEvents: typeof batchEvents;
  readonly webhookDeliveries: typeof webhookDeliveries;
}

export const sqliteBatchTables: BatchTables = { batches, batchItems, batchEvents, webhookDeliveries };

/**
 * What differs per database for batches: the tables, the Batch JSON built in SQL (so an event's
 * data is written in the same statement that allocates its seq, from the counters under the
 * row's lock), and Postgres's `FOR UPDATE SKIP LOCKED` when leasing items.
 */
export interface BatchDialect {
  readonly name: 'sqlite' | 'postgres';
  readonly tables: BatchTables;
  /** The cache dialect of the same database (int/float casts of bound numbers). */
  readonly base: Dialect;
  /** JSON text of the Batch (without items) of the `batches` row in scope (columns unqualified). */
  readonly batchJson: SQL;
  /** Appended to the lease's candidate select: lock the rows, skipping those another transaction holds. */
  readonly skipLocked: SQL;
  /** `column IN (values)` with the values bound as one JSON text parameter, however many there are. */
  textIn(column: SQLWrapper, values: readonly string[]): SQL;
  /** INSERTs of a new batch's items, in order, to be run in the creation's atomic write. */
  insertItems(db: CacheDb, tables: BatchTables, rows: readonly NewItemRow[]): AtomicStatement[];
}

/** UTF-8 bytes of a string (a row's JSON text), without encoding it: a surrogate pair is 4. */
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return bytes;
}

/**
 * SQLite: each chunk of at most JSON_CHUNK_BYTES of rows is one INSERT ... SELECT over json_each
 * of one JSON array of [prompt, seed, n, psi, status, images] arrays; the columns every row shares
 * are bound once. json_extract gives a JSON string as TEXT, an integer as INTEGER, a number with a
 * fraction as REAL and null as NULL, and the columns' affinities (INTEGER, REAL) make the stored
 * values what a bound parameter of the row would give (test: batches-create.test.ts).
 */
function sqliteInsertItems(db: CacheDb, tables: BatchTables, rows: readonly NewItemRow[]): AtomicStatement[] {
  const statements: AtomicStatement[] = [];
  let chunk: string[] = [];
  let bytes = 2;
  let first = 0;
  const flush = (next: number) => {
    if (chunk.length === 0) return;
    const { batchId, owner, createdAt } = rows[first];
    const json = `[${chunk.join(',')}]`;
    statements.push(
      db.insert(tables.batchItems).select(
        sql`SELECT ${batchId}, ${first} + key, ${owner}, ${createdAt}, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
          json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), NULL, NULL, 0 FROM json_each(${json}) ORDER BY key`,
      ),
    );
    chunk = [];
    bytes = 2;
    first = next;
  };
  rows.forEach((row, i) => {
    if (row.index !== i || row.batchId !== rows[0].batchId || row.owner !== rows[0].owner || row.createdAt !== rows[0].createdAt)
      throw new Error("batches: insertItems takes one batch's items, in index order");
    if (row.error != null || row.leaseUntil != null || (row.attempts ?? 0) !== 0) throw new Error('batches: new items have no error, lease or attempts');
    const text = JSON.stringify([row.prompt, row.seed, row.n, row.psi, row.status, row.images]);
    const size = utf8Bytes(text) + 1;
    if (chunk.length > 0 && bytes + size > JSON_CHUNK_BYTES) flush(i);
    chunk.push(text);
    bytes += size;
  });
  flush(rows.length);
  return statements;
}

export function sqliteBatchDialect(base: Dialect): BatchDialect {
  return {
    name: 'sqlite',
    tables: sqliteBatchTables,
    base,
    batchJson: sql.raw(
      `json_object('id', id, 'object', 'batch', 'status', status, 'model', model, 'total', total, 'done', done, 'failed', failed, 'cancelled', cancelled, ` +
        `'created', created_at / 1000, 'finished', finished_at / 1000, ` +
        `'webhook', json(CASE WHEN webhook_url IS NULL THEN NULL ELSE json_object('url', webhook_url, 'events', json(webhook_events)) END))`,
    ),
    skipLocked: sql``,
    textIn: (column, values) => sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`,
    insertItems: sqliteInsertItems,
  };
}

export function pgBatchDialect(base: Dialect, tables: BatchTables): BatchDialect {
  return {
    name: 'postgres',
    tables,
    base,
    batchJson: sql.raw(
      `json_build_object('id', id, 'object', 'batch'::text, 'status', status, 'model', model, 'total', total, 'done', done, 'failed', failed, 'cancelled', cancelled, ` +
        `'created', created_at / 1000, 'finished', finished_at / 1000, ` +
        `'webhook', CASE WHEN webhook_url IS NULL THEN NULL ELSE json_build_object('url', webhook_url, 'events', webhook_events::json) END)::text`,
    ),
    skipLocked: sql.raw(' FOR UPDATE SKIP LOCKED'),
    textIn: (column, values) => sql`${column} IN (SELECT json_array_elements_text(${JSON.stringify(values)}::json))`,
    insertItems: (db, tables, rows) => {
      const statements: AtomicStatement[] = [];
      for (let i = 0; i < rows.length; i += PG_INSERT_CHUNK) statements.push(db.insert(tables.batchItems).values(rows.slice(i, i + PG_INSERT_CHUNK)));
      return statements;
    },
  };
}
