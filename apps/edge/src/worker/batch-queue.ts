/**
 * Batches on Workers, the queue side: the message a Cloudflare Queue carries (an item reference,
 * `{ batchId, index }`), the few Queues types used here (the project has no Workers types), and
 * the producer: a batch's items to run are sent in sendBatch chunks (at most 100 messages and
 * 256 KB each) before POST /v1/batches answers 202.
 *
 * Durability: the batch and its items are in D1 before anything is sent (store.create commits
 * first); a send that fails is logged and the batch still answered 202 (it is accepted: D1 holds
 * it), and the scheduled sweep (batch-sweep.ts) re-enqueues open items nobody touched for a while.
 * So an item is never lost, at worst late.
 */
import type { BatchDatabase, NewBatch } from '../batches/store.ts';
import { BatchStore, type ItemRef } from '../batches/store.ts';
import type { BatchDialect } from '../batches/dialect.ts';
import type { BatchRow } from '../batches/schema.ts';

/** What a queue message carries: one batch item. */
export type BatchMessage = ItemRef;

/** The producer side of a Queue binding (env.BATCH_QUEUE). */
export interface QueueProducer<T = BatchMessage> {
  send(body: T, options?: { delaySeconds?: number; contentType?: string }): Promise<unknown>;
  sendBatch(messages: Iterable<{ body: T; delaySeconds?: number; contentType?: string }>, options?: { delaySeconds?: number }): Promise<unknown>;
}

/** A delivered message (the consumer side). */
export interface QueueMessage<T = unknown> {
  readonly id: string;
  readonly timestamp: Date;
  readonly body: T;
  /** Deliveries so far, this one included (1 on the first). */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/** What `queue(batch, env, ctx)` is handed. */
export interface QueueBatch<T = unknown> {
  /** The queue's name: aurora-batches, or its dead letter queue. */
  readonly queue: string;
  readonly messages: readonly QueueMessage<T>[];
}

/** Cloudflare's bounds on one sendBatch call. */
export const SEND_BATCH_MAX_MESSAGES = 100;
export const SEND_BATCH_MAX_BYTES = 256 * 1024;
/** Counted per message besides its JSON (Queues adds its own metadata; a safe margin). */
const MESSAGE_OVERHEAD_BYTES = 256;
/** sendBatch calls in flight at once for one batch (10,000 items: 100 calls). */
const SEND_CONCURRENCY = 6;
/** Attempts per chunk before the send is given up (the sweep then recovers the items). */
const SEND_ATTEMPTS = 3;
/** Queues' longest delay. */
export const MAX_DELAY_SECONDS = 12 * 60 * 60;

/** Messages split into sendBatch chunks: at most 100 messages and 256 KB (with overhead) each. */
export function chunkMessages<T>(bodies: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = new TextEncoder().encode(JSON.stringify(body)).length + MESSAGE_OVERHEAD_BYTES;
    if (chunk.length > 0 && (chunk.length >= SEND_BATCH_MAX_MESSAGES || bytes + size > SEND_BATCH_MAX_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(body);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** A delay in whole seconds for Queues (at least `min`, at most 12 h). */
export function delaySecondsUntil(at: number, now: number, min = 1): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(min, Math.ceil((at - now) / 1000)));
}

/**
 * Sends item references to the queue, in chunks, a few chunks at a time; each chunk is tried up
 * to three times. Rejects with the first chunk that could not be sent (the others are still tried).
 */
export async function sendItems(queue: QueueProducer, refs: readonly BatchMessage[], options: { delaySeconds?: number } = {}): Promise<void> {
  const chunks = chunkMessages(refs);
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++];
      for (let attempt = 1; ; attempt++) {
        try {
          await queue.sendBatch(chunk.map((body) => ({ body, contentType: 'json' as const, delaySeconds: options.delaySeconds })));
          break;
        } catch (error) {
          if (attempt >= SEND_ATTEMPTS) {
            failures.push(error);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, chunks.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/**
 * The batch store of a Worker with a BATCH_QUEUE binding: `create` commits the batch to D1 as the
 * store does, then sends its items to run (those not completed from the cache) to the queue, so
 * POST /v1/batches answers 202 only after its messages are enqueued. A failed send does not fail
 * the request (the batch is durable in D1 and the sweep re-enqueues its items); it is logged.
 */
export class QueuedBatchStore extends BatchStore {
  constructor(
    database: BatchDatabase,
    dialect: BatchDialect,
    private readonly queue: QueueProducer,
    private readonly log: (message: string, error?: unknown) => void,
  ) {
    super(database, dialect);
  }

  override async create(batch: NewBatch): Promise<BatchRow> {
    const row = await super.create(batch);
    const refs = batch.items.flatMap((item, index) => (item.cached ? [] : [{ batchId: row.id, index }]));
    if (refs.length > 0) {
      try {
        await sendItems(this.queue, refs);
      } catch (error) {
        this.log(`batch ${row.id}: enqueueing its ${refs.length} items failed; the scheduled sweep will enqueue them`, error);
      }
    }
    return row;
  }
}
