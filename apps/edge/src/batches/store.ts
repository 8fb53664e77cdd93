import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { AtomicStatement, CacheDb, WriteAtomically } from '../cache/db.ts';
import type { BatchDialect, NewItemRow } from './dialect.ts';
import type { BatchEventRow, BatchItemRow, BatchRow, WebhookDeliveryRow } from './schema.ts';

/**
 * Batches in the gateway's database (SQLite/D1 or Postgres): creation, pages of items, the event
 * log, cancellation, and the item leases the processors (batches/process.ts) take. Runtime-free
 * (no node:*), so a Workers Queues consumer uses the same store.
 *
 * Every change that moves a batch forward is ONE atomic write (the adapter's writeAtomically):
 * the item's new state, the batch's counters and status, the event it may emit (its seq allocated
 * and its data built in SQL from the counters just written) and the webhook outbox row. A
 * completion names the lease it holds (the item's `attempts` when leased), so an item another
 * process took over after a lease expired is counted once, whoever finishes first.
 */

export type ItemStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type BatchStatusValue = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const ACTIVE: readonly BatchStatusValue[] = ['queued', 'running'];
export const TERMINAL_BATCH: readonly BatchStatusValue[] = ['completed', 'failed', 'cancelled'];

/** An image of a completed item, as stored (the URL is made per request from id and etag). */
export interface StoredImage {
  readonly id: string;
  readonly seed: number;
  readonly etag: string;
}

export interface ItemError {
  readonly code: string;
  readonly message: string;
}

/** An item reference: what a queue message carries. */
export interface ItemRef {
  readonly batchId: string;
  readonly index: number;
}

/** A leased item: its row, with `attempts` the lease token to complete it with. */
export type LeasedItem = BatchItemRow;

export interface NewBatchItem {
  readonly prompt: string;
  readonly seed: number;
  readonly n: number;
  readonly psi: number;
  /** Every image already cached: the item is completed at creation. */
  readonly cached?: readonly StoredImage[];
}

export interface NewBatch {
  readonly id: string;
  readonly owner: string;
  readonly model: string;
  readonly items: readonly NewBatchItem[];
  readonly webhook: { readonly url: string; readonly events: readonly string[] } | null;
}

/** Coalescing of progress events: at most one per this many ms... */
export const PROGRESS_EVENT_MS = 500;
/** ...and per this share of the batch's images (a terminal event is always written). */
export const PROGRESS_EVENT_SHARE = 0.01;

/**
 * Cache keys per lookup at creation: each lookup binds them as one JSON text (dialect textIn),
 * about 70 bytes a key, so 10,000 images take 3 queries, each well within D1's 2 MB per bound string.
 */
export const LOOKUP_CHUNK = 4_000;

/** An id: "batch_" and 24 lowercase letters or digits (unbiased: bytes >= 252 are dropped). */
export function newBatchId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < 24) {
    for (const b of crypto.getRandomValues(new Uint8Array(32))) if (b < 252 && out.length < 24) out += alphabet[b % 36];
  }
  return `batch_${out}`;
}

export interface BatchDatabase {
  readonly db: CacheDb;
  readonly writeAtomically: WriteAtomically;
}

export class BatchStore {
  private readonly t;

  constructor(
    private readonly database: BatchDatabase,
    readonly dialect: BatchDialect,
    private readonly now: () => number = Date.now,
  ) {
    this.t = dialect.tables;
  }

  private get db(): CacheDb {
    return this.database.db;
  }

  private int(value: number) {
    return this.dialect.base.int(value);
  }

  /**
   * Writes a new batch and its items in one transaction. Items given `cached` images are
   * completed already; a batch with nothing left to do is completed at once, with its terminal
   * event (and webhook message) written in the same transaction.
   */
  async create(batch: NewBatch): Promise<BatchRow> {
    const now = this.now();
    const { batches } = this.t;
    let total = 0;
    let done = 0;
    let open = 0;
    for (const item of batch.items) {
      total += item.n;
      if (item.cached) done += item.n;
      else open++;
    }
    const row: BatchRow = {
      id: batch.id,
      owner: batch.owner,
      model: batch.model,
      status: open === 0 ? 'completed' : 'queued',
      total,
      done,
      failed: 0,
      cancelled: 0,
      openItems: open,
      createdAt: now,
      finishedAt: open === 0 ? now : null,
      webhookUrl: batch.webhook?.url ?? null,
      webhookEvents: batch.webhook ? JSON.stringify(batch.webhook.events) : null,
      cancelRequested: 0,
      lastEventSeq: open === 0 ? 1 : 0,
      lastEventAt: open === 0 ? now : 0,
      lastEventProgress: open === 0 ? done : 0,
    };
    const statements: AtomicStatement[] = [this.db.insert(batches).values(row)];
    const rows: NewItemRow[] = batch.items.map((item, index) => ({
      batchId: batch.id,
      index,
      owner: batch.owner,
      createdAt: now,
      prompt: item.prompt,
      seed: item.seed,
      n: item.n,
      psi: item.psi,
      status: item.cached ? 'completed' : 'queued',
      images: item.cached ? JSON.stringify(item.cached) : null,
      error: null,
      leaseUntil: null,
      attempts: 0,
    }));
    // A few statements however many items (D1: 100 parameters per statement; see the dialect).
    statements.push(...this.dialect.insertItems(this.db, this.t, rows));
    if (open === 0) statements.push(...this.eventStatements(batch.id, now));
    await this.database.writeAtomically(statements);
    return row;
  }

  /**
   * The etags of those of `keys` that are in the image cache (a batch item whose images all are
   * completes at creation). A few queries however many keys: each binds LOOKUP_CHUNK keys as one
   * parameter (D1 binds at most 100 per statement).
   */
  async cachedEtags(keys: readonly string[]): Promise<Map<string, string>> {
    const { images } = this.dialect.base.tables;
    const found = new Map<string, string>();
    for (let i = 0; i < keys.length; i += LOOKUP_CHUNK) {
      const rows = await this.db
        .select({ key: images.key, etag: images.etag })
        .from(images)
        .where(this.dialect.textIn(images.key, keys.slice(i, i + LOOKUP_CHUNK)));
      for (const row of rows) found.set(row.key, row.etag);
    }
    return found;
  }

  /** A batch, if it is `owner`'s (another caller's batch is as good as absent). */
  async get(id: string, owner: string): Promise<BatchRow | null> {
    const { batches } = this.t;
    const [row] = await this.db
      .select()
      .from(batches)
      .where(and(eq(batches.id, id), eq(batches.owner, owner)));
    return row ?? null;
  }

  /** Items of a batch after index `after` (-1: from the first), at most `limit`. */
  async items(id: string, after: number, limit: number): Promise<BatchItemRow[]> {
    const { batchItems } = this.t;
    return this.db
      .select()
      .from(batchItems)
      .where(and(eq(batchItems.batchId, id), gt(batchItems.index, after)))
      .orderBy(asc(batchItems.index))
      .limit(limit);
  }

  /** Events of a batch after seq `after`, in order. */
  async events(id: string, after: number, limit = 100): Promise<BatchEventRow[]> {
    const { batchEvents } = this.t;
    return this.db
      .select()
      .from(batchEvents)
      .where(and(eq(batchEvents.batchId, id), gt(batchEvents.seq, after)))
      .orderBy(asc(batchEvents.seq))
      .limit(limit);
  }

  /** A batch's model id (null: no such batch). */
  async modelOf(id: string): Promise<string | null> {
    const { batches } = this.t;
    const [row] = await this.db.select({ model: batches.model }).from(batches).where(eq(batches.id, id));
    return row?.model ?? null;
  }

  /** The webhook secret of an owner scope "key:<id>" (null: none, or not a key). */
  async webhookSecret(owner: string): Promise<string | null> {
    if (!owner.startsWith('key:')) return null;
    const { apiKeys } = this.dialect.base.tables;
    const [row] = await this.db
      .select({ secret: apiKeys.webhookSecret })
      .from(apiKeys)
      .where(eq(apiKeys.id, owner.slice(4)));
    return row?.secret ?? null;
  }

  /**
   * Cancels an active batch of `owner`: its queued items (and running ones whose lease has run
   * out) become cancelled, the batch is cancelled with its terminal event, in one transaction.
   * Items running under a live lease may still finish; their images count as done.
   */
  async cancel(id: string, owner: string): Promise<{ kind: 'cancelled'; batch: BatchRow } | { kind: 'not_found' } | { kind: 'finished'; batch: BatchRow }> {
    const now = this.now();
    const { batches, batchItems } = this.t;
    const mine = sql`EXISTS (SELECT 1 FROM batches b WHERE b.id = ${id} AND b.owner = ${owner} AND b.status IN ('queued', 'running'))`;
    const results = await this.database.writeAtomically([
      this.db
        .update(batchItems)
        .set({ status: 'cancelled', leaseUntil: null })
        .where(and(eq(batchItems.batchId, id), sql`(status = 'queued' OR (status = 'running' AND lease_until < ${this.int(now)}))`, mine)),
      this.db
        .update(batches)
        .set({
          status: 'cancelled',
          cancelRequested: 1,
          finishedAt: now,
          cancelled: sql`(SELECT coalesce(sum(i.n), 0) FROM batch_items i WHERE i.batch_id = ${id} AND i.status = 'cancelled')`,
          openItems: sql`(SELECT count(*) FROM batch_items i WHERE i.batch_id = ${id} AND i.status IN ('queued', 'running'))`,
          lastEventSeq: sql`last_event_seq + 1`,
          lastEventAt: now,
          lastEventProgress: sql`done + failed`,
        })
        .where(and(eq(batches.id, id), eq(batches.owner, owner), sql`status IN ('queued', 'running')`))
        .returning(),
      ...this.eventStatements(id, now),
    ]);
    const [row] = results[1] as BatchRow[];
    if (row) return { kind: 'cancelled', batch: row };
    const current = await this.get(id, owner);
    return current ? { kind: 'finished', batch: current } : { kind: 'not_found' };
  }

  /**
   * Leases the next item any process may run: queued (and due) or running under an expired lease,
   * of an active batch, of an owner with fewer than `perOwner` items under a live lease, oldest
   * batch first. One statement (Postgres: the candidate locked FOR UPDATE SKIP LOCKED, so
   * gateways leasing together take different items). Null when there is none.
   */
  async leaseNext(options: { leaseMs: number; perOwner: number }): Promise<LeasedItem | null> {
    const now = this.now();
    const at = this.int(now);
    // Owners at their bound, read first (few rows: the running ones) so that their queued items are
    // skipped without the per-row count below, which stays as the statement's own guard.
    const busy = await this.db
      .select({ owner: this.t.batchItems.owner })
      .from(this.t.batchItems)
      .where(sql`status = 'running' AND lease_until >= ${at}`)
      .groupBy(this.t.batchItems.owner)
      .having(sql`count(*) >= ${this.int(options.perOwner)}`);
    const exclude = busy.length
      ? sql` AND NOT ${this.dialect.textIn(
          sql`i.owner`,
          busy.map((o) => o.owner),
        )}`
      : sql``;
    const guard = sql`(SELECT count(*) FROM batch_items r WHERE r.owner = i.owner AND r.status = 'running' AND r.lease_until >= ${at}) < ${this.int(options.perOwner)}`;
    const active = sql`EXISTS (SELECT 1 FROM batches b WHERE b.id = i.batch_id AND b.status IN ('queued', 'running') AND b.cancel_requested = 0)`;
    // Items whose lease ran out (their gateway died) first, then queued ones oldest first (index batch_items_lease).
    const expired = sql`SELECT i.batch_id, i.idx FROM batch_items i
      WHERE i.status = 'running' AND i.lease_until < ${at}${exclude} AND ${guard} AND ${active}
      ORDER BY i.lease_until LIMIT 1${this.dialect.skipLocked}`;
    const queued = sql`SELECT i.batch_id, i.idx FROM batch_items i
      WHERE i.status = 'queued' AND coalesce(i.lease_until, 0) <= ${at}${exclude} AND ${guard} AND ${active}
      ORDER BY i.created_at, i.batch_id, i.idx LIMIT 1${this.dialect.skipLocked}`;
    return (await this.lease(expired, now, options.leaseMs)) ?? this.lease(queued, now, options.leaseMs);
  }

  /**
   * Leases one given item (a queue message's): when it is queued and due, or running under an
   * expired lease, and its batch is active. Null otherwise (finished, cancelled, or running elsewhere).
   */
  async leaseItem(ref: ItemRef, leaseMs: number): Promise<LeasedItem | null> {
    const now = this.now();
    const candidate = sql`SELECT i.batch_id, i.idx FROM batch_items i
      WHERE i.batch_id = ${ref.batchId} AND i.idx = ${this.int(ref.index)}
        AND EXISTS (SELECT 1 FROM batches b WHERE b.id = i.batch_id AND b.status IN ('queued', 'running') AND b.cancel_requested = 0)
        AND ((i.status = 'queued' AND coalesce(i.lease_until, 0) <= ${this.int(now)}) OR (i.status = 'running' AND i.lease_until < ${this.int(now)}))${this.dialect.skipLocked}`;
    return this.lease(candidate, now, leaseMs);
  }

  private async lease(candidate: ReturnType<typeof sql>, now: number, leaseMs: number): Promise<LeasedItem | null> {
    const { batchItems, batches } = this.t;
    const [item] = await this.db
      .update(batchItems)
      .set({ status: 'running', leaseUntil: now + leaseMs, attempts: sql`attempts + 1` })
      .where(sql`(batch_id, idx) IN (${candidate})`)
      .returning();
    if (!item) return null;
    await this.db
      .update(batches)
      .set({ status: 'running' })
      .where(and(eq(batches.id, item.batchId), eq(batches.status, 'queued')));
    return item;
  }

  /** Pushes a held lease forward; false when it is no longer ours (taken over, or the item finished). */
  async renew(item: LeasedItem, leaseMs: number): Promise<boolean> {
    const { batchItems } = this.t;
    const rows = await this.db
      .update(batchItems)
      .set({ leaseUntil: this.now() + leaseMs })
      .where(
        and(eq(batchItems.batchId, item.batchId), eq(batchItems.index, item.index), eq(batchItems.status, 'running'), eq(batchItems.attempts, item.attempts)),
      )
      .returning({ index: batchItems.index });
    return rows.length > 0;
  }

  /** Hands a leased item back to the queue, to be leased again no earlier than `retryAt` (a transient failure). */
  async release(item: LeasedItem, retryAt: number): Promise<boolean> {
    const { batchItems } = this.t;
    const rows = await this.db
      .update(batchItems)
      .set({ status: 'queued', leaseUntil: retryAt })
      .where(
        and(eq(batchItems.batchId, item.batchId), eq(batchItems.index, item.index), eq(batchItems.status, 'running'), eq(batchItems.attempts, item.attempts)),
      )
      .returning({ index: batchItems.index });
    return rows.length > 0;
  }

  /** Completes a leased item with its images; false when the lease was no longer ours (nothing written). */
  complete(item: LeasedItem, images: readonly StoredImage[]): Promise<boolean> {
    return this.finish(item, 'completed', JSON.stringify(images), null);
  }

  /** Fails a leased item; false when the lease was no longer ours (nothing written). */
  fail(item: LeasedItem, error: ItemError): Promise<boolean> {
    return this.finish(item, 'failed', null, JSON.stringify(error));
  }

  private async finish(item: LeasedItem, status: 'completed' | 'failed', images: string | null, error: string | null): Promise<boolean> {
    const now = this.now();
    const { batches, batchItems } = this.t;
    const dn = status === 'completed' ? item.n : 0;
    const df = status === 'failed' ? item.n : 0;
    // The item update below marks the row (lease_until = -1) only when it held the lease; the batch
    // counts it only then, and the mark is cleared in the same transaction.
    const ours = sql`EXISTS (SELECT 1 FROM batch_items x WHERE x.batch_id = ${item.batchId} AND x.idx = ${this.int(item.index)} AND x.lease_until = -1)`;
    const self = and(eq(batchItems.batchId, item.batchId), eq(batchItems.index, item.index));
    const active = sql`status IN ('queued', 'running')`;
    const last = sql`open_items = 1`;
    const progress = sql`done + failed + ${this.int(dn + df)}`;
    // A progress event: at most one per PROGRESS_EVENT_MS and per PROGRESS_EVENT_SHARE of the images; the terminal one always.
    const step = sql`CASE WHEN total * ${this.dialect.base.float(PROGRESS_EVENT_SHARE)} > 1 THEN total * ${this.dialect.base.float(PROGRESS_EVENT_SHARE)} ELSE 1 END`;
    const emit = sql`(${active} AND (${last} OR (${this.int(now)} - last_event_at >= ${this.int(PROGRESS_EVENT_MS)} AND ${progress} - last_event_progress >= ${step})))`;
    const results = await this.database.writeAtomically([
      this.db
        .update(batchItems)
        .set({ status, images, error, leaseUntil: -1 })
        .where(and(self, eq(batchItems.status, 'running'), eq(batchItems.attempts, item.attempts)))
        .returning({ index: batchItems.index }),
      this.db
        .update(batches)
        .set({
          lastEventSeq: sql`CASE WHEN ${emit} THEN last_event_seq + 1 ELSE last_event_seq END`,
          lastEventAt: sql`CASE WHEN ${emit} THEN ${this.int(now)} ELSE last_event_at END`,
          lastEventProgress: sql`CASE WHEN ${emit} THEN ${progress} ELSE last_event_progress END`,
          status: sql`CASE WHEN ${active} AND ${last} THEN (CASE WHEN done + ${this.int(dn)} = 0 AND failed + ${this.int(df)} = total THEN 'failed' ELSE 'completed' END) ELSE status END`,
          finishedAt: sql`CASE WHEN ${active} AND ${last} THEN ${this.int(now)} ELSE finished_at END`,
          done: sql`done + ${this.int(dn)}`,
          failed: sql`failed + ${this.int(df)}`,
          openItems: sql`open_items - 1`,
        })
        .where(and(eq(batches.id, item.batchId), ours)),
      this.db
        .update(batchItems)
        .set({ leaseUntil: null })
        .where(and(self, eq(batchItems.leaseUntil, -1))),
      ...this.eventStatements(item.batchId, now),
    ]);
    return (results[0] as unknown[]).length > 0;
  }

  /**
   * The event a batch's last change allocated (its last_event_seq, when no event has that seq
   * yet) and its webhook message when the batch's webhook subscribes to that kind: both built in
   * SQL from the batch row, so they carry the counters of the write that allocated the seq.
   */
  private eventStatements(batchId: string, now: number): AtomicStatement[] {
    const { batchEvents, webhookDeliveries } = this.t;
    const json = this.dialect.batchJson;
    const type = sql`CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN status ELSE 'progress' END`;
    const iso = new Date(now).toISOString();
    const messageId = sql`'msg_' || id || '_' || last_event_seq`;
    return [
      this.db.insert(batchEvents).select(
        sql`SELECT id, last_event_seq, ${type}, ${json}, ${this.int(now)} FROM batches
          WHERE id = ${batchId} AND last_event_seq > 0 AND NOT EXISTS (SELECT 1 FROM batch_events e WHERE e.batch_id = batches.id AND e.seq = batches.last_event_seq)`,
      ),
      this.db.insert(webhookDeliveries).select(
        sql`SELECT ${messageId}, id, owner, webhook_url, '{"type":"batch.' || ${type} || '","timestamp":"' || ${iso} || '","data":' || ${json} || '}',
            0, ${this.int(now)}, 'pending', NULL, NULL, ${this.int(now)} FROM batches
          WHERE id = ${batchId} AND webhook_url IS NOT NULL AND last_event_seq > 0
            AND webhook_events LIKE (CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN '%"completed"%' ELSE '%"progress"%' END)
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.id = 'msg_' || batches.id || '_' || batches.last_event_seq)`,
      ),
    ];
  }

  /** Webhook messages due for an attempt, oldest first. */
  async dueDeliveries(limit: number): Promise<WebhookDeliveryRow[]> {
    const { webhookDeliveries: w } = this.t;
    return this.db
      .select()
      .from(w)
      .where(and(eq(w.status, 'pending'), sql`next_attempt_at <= ${this.int(this.now())}`))
      .orderBy(asc(w.nextAttemptAt))
      .limit(limit);
  }

  /**
   * Takes a due message for one attempt: pushes its next attempt `leaseMs` ahead (so another
   * gateway does not send it at the same time) and counts the attempt. False: someone else took it.
   */
  async takeDelivery(row: WebhookDeliveryRow, leaseMs: number): Promise<boolean> {
    const { webhookDeliveries: w } = this.t;
    const taken = await this.db
      .update(w)
      .set({ nextAttemptAt: this.now() + leaseMs, attempts: sql`attempts + 1` })
      .where(and(eq(w.id, row.id), eq(w.status, 'pending'), eq(w.attempts, row.attempts)))
      .returning({ id: w.id });
    return taken.length > 0;
  }

  /** Records an attempt's outcome: delivered, retry at `retryAt`, or given up (retryAt null). */
  async recordDelivery(id: string, outcome: { delivered: boolean; status: number | null; error: string | null; retryAt: number | null }): Promise<void> {
    const { webhookDeliveries: w } = this.t;
    await this.db
      .update(w)
      .set({
        status: outcome.delivered ? 'delivered' : outcome.retryAt === null ? 'failed' : 'pending',
        lastStatus: outcome.status,
        lastError: outcome.error,
        ...(outcome.retryAt !== null && !outcome.delivered ? { nextAttemptAt: outcome.retryAt } : {}),
      })
      .where(eq(w.id, id));
  }
}
