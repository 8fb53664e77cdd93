/**
 * Batches on Workers, what the queue side reads and writes in D1 besides the store: an item's
 * state (what a message should do with it), an owner's live leases (the per-owner bound), and the
 * sweep that re-enqueues open items nobody has touched for a while (a send that failed at
 * creation, a message dead-lettered and not recovered, an item whose holder died and whose
 * message is gone).
 *
 * "Touched" uses `batch_items.lease_until` as the store defines it: for a running item its lease
 * (renewed while it runs); for a queued item the time it may be leased from (a retry's backoff),
 * null when never leased. The sweep and a deferred message set a queued item's lease_until to
 * *now* (never ahead: the item stays leasable at once, as every lease query compares
 * `coalesce(lease_until, 0) <= now`), so an item waiting in a deep queue is not re-enqueued every
 * sweep, only when it has gone untouched for `requeueAfterMs`.
 */
import { and, eq, gte, sql } from 'drizzle-orm';
import { batches, batchItems } from '../batches/schema.ts';
import type { ItemRef } from '../batches/store.ts';
import type { CacheDb } from '../cache/db.ts';
import { type BatchMessage, type QueueProducer, sendItems } from './batch-queue.ts';

/** An item as a message sees it, with its batch's state. */
export interface ItemState {
  readonly status: string;
  readonly leaseUntil: number | null;
  readonly owner: string;
  /** The batch is queued or running and not cancelled: its items may still run. */
  readonly batchActive: boolean;
}

/** Default: re-enqueue open items untouched for 15 minutes (BATCH_REQUEUE_AFTER_MS). */
export const DEFAULT_REQUEUE_AFTER_MS = 15 * 60_000;
/** Items re-enqueued per sweep at most (the next sweep takes the rest). */
export const SWEEP_LIMIT = 2_000;

export class BatchQueueQueries {
  constructor(private readonly db: CacheDb) {}

  async itemState(ref: ItemRef): Promise<ItemState | null> {
    const [row] = await this.db
      .select({
        status: batchItems.status,
        leaseUntil: batchItems.leaseUntil,
        owner: batchItems.owner,
        batchStatus: batches.status,
        cancelRequested: batches.cancelRequested,
      })
      .from(batchItems)
      .innerJoin(batches, eq(batches.id, batchItems.batchId))
      .where(and(eq(batchItems.batchId, ref.batchId), eq(batchItems.index, ref.index)));
    if (!row) return null;
    return {
      status: row.status,
      leaseUntil: row.leaseUntil,
      owner: row.owner,
      batchActive: (row.batchStatus === 'queued' || row.batchStatus === 'running') && row.cancelRequested === 0,
    };
  }

  /** Items of `owner` running under a live lease, all isolates together (the store's leaseNext counts the same). */
  async liveLeases(owner: string, now: number): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)` })
      .from(batchItems)
      .where(and(eq(batchItems.owner, owner), eq(batchItems.status, 'running'), gte(batchItems.leaseUntil, now)));
    return Number(row?.n ?? 0);
  }

  /** Marks queued items as touched now (a deferred message was re-sent for them); leaves a later backoff alone. */
  async touch(refs: readonly ItemRef[], now: number): Promise<void> {
    const byBatch = new Map<string, number[]>();
    for (const ref of refs) byBatch.set(ref.batchId, [...(byBatch.get(ref.batchId) ?? []), ref.index]);
    for (const [batchId, indexes] of byBatch) {
      await this.db
        .update(batchItems)
        .set({ leaseUntil: now })
        .where(
          and(
            eq(batchItems.batchId, batchId),
            // One JSON parameter however many (D1 binds at most 100 per statement).
            sql`${batchItems.index} IN (SELECT value FROM json_each(${JSON.stringify(indexes)}))`,
            eq(batchItems.status, 'queued'),
            sql`coalesce(${batchItems.leaseUntil}, 0) <= ${now}`,
          ),
        );
    }
  }

  /**
   * Open items of active batches untouched for `requeueAfterMs` (queued: since their backoff or
   * creation; running: lease expired that long ago), oldest first, at most `limit`: marked touched
   * now in the same statement and returned.
   */
  async takeStale(now: number, requeueAfterMs: number, limit: number): Promise<BatchMessage[]> {
    const before = now - requeueAfterMs;
    const stale = sql`((status = 'queued' AND coalesce(lease_until, created_at) < ${before}) OR (status = 'running' AND lease_until < ${before}))`;
    const candidates = sql`SELECT i.batch_id, i.idx FROM batch_items i JOIN batches b ON b.id = i.batch_id
      WHERE b.status IN ('queued', 'running') AND b.cancel_requested = 0
        AND ((i.status = 'queued' AND coalesce(i.lease_until, i.created_at) < ${before}) OR (i.status = 'running' AND i.lease_until < ${before}))
      ORDER BY i.created_at, i.batch_id, i.idx LIMIT ${limit}`;
    const rows = await this.db
      .update(batchItems)
      .set({ leaseUntil: now })
      .where(and(sql`(batch_id, idx) IN (${candidates})`, stale))
      .returning({ batchId: batchItems.batchId, index: batchItems.index });
    return rows;
  }
}

/**
 * The scheduled sweep: re-enqueues stale open items (see takeStale). Items marked but not sent
 * (the queue refused) are taken again after another `requeueAfterMs`. Resolves with how many were sent.
 */
export async function sweepStaleItems(
  queries: BatchQueueQueries,
  queue: QueueProducer,
  options: { now?: number; requeueAfterMs: number; limit?: number },
): Promise<number> {
  const refs = await queries.takeStale(options.now ?? Date.now(), options.requeueAfterMs, options.limit ?? SWEEP_LIMIT);
  if (refs.length > 0) await sendItems(queue, refs);
  return refs.length;
}
