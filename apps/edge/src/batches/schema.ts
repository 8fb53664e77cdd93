import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Batch jobs (api/batches.ts, batches/store.ts) on SQLite (better-sqlite3, D1). Postgres has the
 * same tables, columns and indexes in batches/schema.pg.ts (test: apps/edge/test/batches-schema.test.ts).
 * Times are unix ms.
 */

/** One batch: its owner, counters (in images) and the state of its event stream and webhook. */
export const batches = sqliteTable(
  'batches',
  {
    /** "batch_" and 24 lowercase letters or digits. */
    id: text('id').primaryKey(),
    /** The caller's scope (AccessControl.scopeOf: "key:<id>" or "ip:<address>"): only it sees the batch. */
    owner: text('owner').notNull(),
    model: text('model').notNull(),
    /** queued | running | completed | failed | cancelled. */
    status: text('status').notNull(),
    /** Images in all (sum of the items' n), and those completed, failed and cancelled. */
    total: integer('total').notNull(),
    done: integer('done').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    cancelled: integer('cancelled').notNull().default(0),
    /** Items not yet terminal; the batch is finished when it reaches 0. */
    openItems: integer('open_items').notNull(),
    createdAt: integer('created_at').notNull(),
    finishedAt: integer('finished_at'),
    webhookUrl: text('webhook_url'),
    /** JSON array of "progress" | "completed" (null without a webhook). */
    webhookEvents: text('webhook_events'),
    /** 1 once cancelled: no item of it is leased any more. */
    cancelRequested: integer('cancel_requested').notNull().default(0),
    /** The newest event's seq (0: none yet), when it was written and done + failed then (progress coalescing). */
    lastEventSeq: integer('last_event_seq').notNull().default(0),
    lastEventAt: integer('last_event_at').notNull().default(0),
    lastEventProgress: integer('last_event_progress').notNull().default(0),
  },
  (t) => [index('batches_owner').on(t.owner, t.createdAt), index('batches_status').on(t.status)],
);

/** One generation of a batch (a prompt and n seeds), leased by whichever process runs it. */
export const batchItems = sqliteTable(
  'batch_items',
  {
    batchId: text('batch_id').notNull(),
    /** Position in the request's items, from 0. */
    index: integer('idx').notNull(),
    /** The batch's owner and creation time, copied: the per-owner bound and the lease order read them without a join. */
    owner: text('owner').notNull(),
    createdAt: integer('created_at').notNull(),
    prompt: text('prompt').notNull(),
    seed: integer('seed').notNull(),
    n: integer('n').notNull(),
    psi: real('psi').notNull(),
    /** queued | running | completed | failed | cancelled. */
    status: text('status').notNull(),
    /** JSON array of { id, seed, etag } once completed. */
    images: text('images'),
    /** JSON { code, message } once failed. */
    error: text('error'),
    /** A running item's lease: past it, another process may take the item over. */
    leaseUntil: integer('lease_until'),
    /** Times leased; the current lease's number is its token (completions name it). */
    attempts: integer('attempts').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.batchId, t.index] }),
    index('batch_items_lease').on(t.status, t.createdAt),
    index('batch_items_owner').on(t.owner, t.status, t.leaseUntil),
  ],
);

/** A batch's events (SSE, resumable by seq from any gateway): data is the Batch JSON without items. */
export const batchEvents = sqliteTable(
  'batch_events',
  {
    batchId: text('batch_id').notNull(),
    seq: integer('seq').notNull(),
    /** progress | completed | failed | cancelled. */
    type: text('type').notNull(),
    data: text('data').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.batchId, t.seq] })],
);

/** The webhook outbox: one row per message (id = webhook-id, stable across retries). */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    batchId: text('batch_id').notNull(),
    /** The API key scope whose secret signs it (batches.owner). */
    owner: text('owner').notNull(),
    url: text('url').notNull(),
    /** The exact JSON body sent on every attempt. */
    body: text('body').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    /** pending | delivered | failed (gave up). */
    status: text('status').notNull(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('webhook_deliveries_due').on(t.status, t.nextAttemptAt)],
);

export type BatchRow = typeof batches.$inferSelect;
export type BatchItemRow = typeof batchItems.$inferSelect;
export type BatchEventRow = typeof batchEvents.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
