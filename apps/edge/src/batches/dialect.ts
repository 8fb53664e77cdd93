import { type SQL, sql } from 'drizzle-orm';
import type { Dialect } from '../cache/dialect.ts';
import { batchEvents, batches, batchItems, webhookDeliveries } from './schema.ts';

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
  };
}
