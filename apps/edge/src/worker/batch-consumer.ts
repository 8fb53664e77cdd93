/**
 * Batches on Workers, the consumer: what `queue(batch, env, ctx)` does with the messages of
 * aurora-batches (one item each) and of its dead letter queue.
 *
 * Per message: the item is leased and run through the app's generation path exactly as the Node
 * loop runs it (batches/process.ts: store.leaseItem + runLeasedItem, which is processBatchItem
 * with the per-owner bound checked between the two), then
 *   - completed, failed, or nothing to do (the item is finished, cancelled, or its batch is): ack;
 *   - handed back after a transient failure (503, 429): retry({ delaySeconds }) at its backoff;
 *   - leased by someone else right now (a redelivered or duplicate message): retry after that
 *     lease runs out (then the item is finished, and the message acked, or the holder died and
 *     the lease is taken over);
 *   - its owner already runs BATCH_CONCURRENCY items (all isolates, counted in D1): wait here a
 *     little, then send the message again with a delay and ack this one (a deferral is not a
 *     failure, so it must not use up the message's retries and send it to the dead letter queue).
 * A message is acked only once its item needs nothing more from it, so every open item has a
 * message in the queue (the sweep, batch-sweep.ts, covers what falls outside: a send that failed).
 *
 * Dead letter queue: a message retried max_retries times (an item that kills its isolate, a CPU
 * limit) lands there; its item is failed (`item_undeliverable`) so the batch finishes, with
 * failed > 0, instead of waiting for ever.
 */
import { type BatchProcessDeps, DEFAULT_LEASE_MS, runLeasedItem } from '../batches/process.ts';
import type { BatchStore, ItemRef } from '../batches/store.ts';
import { type BatchMessage, delaySecondsUntil, type QueueBatch, type QueueMessage, type QueueProducer } from './batch-queue.ts';
import type { BatchQueueQueries, ItemState } from './batch-sweep.ts';

export interface ConsumerDeps extends BatchProcessDeps {
  readonly queries: BatchQueueQueries;
  /** Where deferred messages are sent again (env.BATCH_QUEUE); without it a deferral is a retry. */
  readonly queue?: QueueProducer;
  /** Items of one owner running at once, all isolates together (BATCH_CONCURRENCY). */
  readonly perOwner: number;
  /** Items this isolate runs at once (BATCH_MAX_RUNNING, at least 1). */
  readonly maxRunning: number;
  /** How long a message waits here for its owner's slot before it is deferred (ms). */
  readonly ownerWaitMs?: number;
  /** How often the owner's live leases are read again while waiting (ms). */
  readonly ownerPollMs?: number;
}

/** What became of a message (for logs and tests). */
export type MessageOutcome = 'completed' | 'failed' | 'acked' | 'retry' | 'deferred' | 'invalid';

const TERMINAL_ITEM = new Set(['completed', 'failed', 'cancelled']);
const DEFAULT_OWNER_WAIT_MS = 10_000;
const DEFAULT_OWNER_POLL_MS = 500;
/** A deferred message comes back after this many seconds (plus up to as many again of jitter). */
const DEFER_SECONDS = 5;
/** After an unexpected error (D1 unreachable), the message is retried after this many seconds. */
const ERROR_RETRY_SECONDS = 10;

/** A small counting semaphore, per key. */
export class Slots {
  private readonly used = new Map<string, number>();
  private readonly waiters = new Map<string, (() => void)[]>();

  constructor(private readonly size: number) {}

  async acquire(key: string): Promise<void> {
    while ((this.used.get(key) ?? 0) >= this.size) {
      await new Promise<void>((resolve) => this.waiters.set(key, [...(this.waiters.get(key) ?? []), resolve]));
    }
    this.used.set(key, (this.used.get(key) ?? 0) + 1);
  }

  release(key: string): void {
    this.used.set(key, (this.used.get(key) ?? 1) - 1);
    const next = this.waiters.get(key)?.shift();
    next?.();
  }
}

function parseRef(body: unknown): BatchMessage | null {
  if (typeof body !== 'object' || body === null) return null;
  const { batchId, index } = body as Record<string, unknown>;
  if (typeof batchId !== 'string' || !/^batch_[a-z0-9]{24}$/.test(batchId)) return null;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) return null;
  return { batchId, index };
}

/** Nothing left for a message to do: no such item, its batch is finished or cancelled, or the item is. */
const settled = (state: ItemState | null) => !state?.batchActive || TERMINAL_ITEM.has(state.status);

/**
 * When an open item can next be leased, if not now: a queued item's backoff, a running item's
 * live lease (plus a second, so the message arrives after it has run out).
 */
function notBefore(state: ItemState, now: number): number | null {
  if (state.status === 'queued' && (state.leaseUntil ?? 0) > now) return state.leaseUntil;
  if (state.status === 'running' && (state.leaseUntil ?? 0) >= now) return (state.leaseUntil ?? now) + 1000;
  return null;
}

/**
 * The isolate's slots: items running at once (maxRunning) and per owner (perOwner), shared by every
 * delivery the isolate handles at once, so that within an isolate the count-then-lease below never
 * races (only isolates against each other, which the check after leasing settles).
 */
export class IsolateSlots {
  readonly running: Slots;
  readonly owners: Slots;

  constructor(maxRunning: number, perOwner: number) {
    this.running = new Slots(Math.max(1, maxRunning));
    this.owners = new Slots(Math.max(1, perOwner));
  }
}

/** Runs the messages of one aurora-batches delivery, at most `maxRunning` items at a time and `perOwner` per owner (per isolate: `slots`). */
export async function consumeBatchMessages(
  batch: QueueBatch,
  deps: ConsumerDeps,
  slots = new IsolateSlots(deps.maxRunning, deps.perOwner),
): Promise<MessageOutcome[]> {
  return Promise.all(batch.messages.map((message) => handle(message, deps, slots.running, slots.owners)));
}

async function handle(message: QueueMessage, deps: ConsumerDeps, running: Slots, owners: Slots): Promise<MessageOutcome> {
  const log = deps.log ?? (() => undefined);
  const now = deps.now ?? Date.now;
  const ref = parseRef(message.body);
  if (!ref) {
    log(`batches: dropping a queue message that is not an item reference: ${JSON.stringify(message.body)?.slice(0, 200)}`);
    message.ack();
    return 'invalid';
  }
  try {
    const state = await deps.queries.itemState(ref);
    if (settled(state)) {
      message.ack();
      return 'acked';
    }
    const later = notBefore(state!, now());
    if (later !== null) {
      message.retry({ delaySeconds: delaySecondsUntil(later, now()) });
      return 'retry';
    }
    const owner = state!.owner;
    // The owner's slot first: a message waiting for its owner holds no slot another owner could use.
    await owners.acquire(owner);
    await running.acquire('');
    try {
      return await leaseAndRun(message, ref, owner, deps);
    } finally {
      running.release('');
      owners.release(owner);
    }
  } catch (error) {
    log(`batch ${ref.batchId} item ${ref.index}: its queue message failed; retried in ${ERROR_RETRY_SECONDS} s`, error);
    message.retry({ delaySeconds: ERROR_RETRY_SECONDS });
    return 'retry';
  }
}

async function leaseAndRun(message: QueueMessage, ref: ItemRef, owner: string, deps: ConsumerDeps): Promise<MessageOutcome> {
  const now = deps.now ?? Date.now;
  const { store, queries } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  // The owner's bound across isolates: wait for a slot a while, then defer the message.
  if (!(await waitForOwner(owner, deps))) return defer(message, ref, deps);
  const item = await store.leaseItem(ref, leaseMs);
  if (!item) return afterwards(message, ref, deps);
  // Another isolate may have leased for the same owner between the count and the lease: the
  // count after leasing includes every lease taken before ours, so of two racing leases at least
  // the later one sees both and steps back. The bound holds strictly.
  if ((await queries.liveLeases(owner, now())) > deps.perOwner) {
    await store.release(item, now());
    return defer(message, ref, deps);
  }
  const outcome = await runLeasedItem(deps, item);
  if (outcome === 'completed' || outcome === 'failed') {
    message.ack();
    return outcome;
  }
  return afterwards(message, ref, deps);
}

/** True once `owner` runs fewer than perOwner items (polling D1), false after ownerWaitMs. */
async function waitForOwner(owner: string, deps: ConsumerDeps): Promise<boolean> {
  const now = deps.now ?? Date.now;
  const deadline = now() + (deps.ownerWaitMs ?? DEFAULT_OWNER_WAIT_MS);
  for (;;) {
    if ((await deps.queries.liveLeases(owner, now())) < deps.perOwner) return true;
    if (now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, deps.ownerPollMs ?? DEFAULT_OWNER_POLL_MS));
  }
}

/** The message again, a few seconds later, as a new message (its retries untouched); this one acked. */
async function defer(message: QueueMessage, ref: ItemRef, deps: ConsumerDeps): Promise<MessageOutcome> {
  const delaySeconds = DEFER_SECONDS + Math.floor(Math.random() * (DEFER_SECONDS + 1));
  if (!deps.queue) {
    message.retry({ delaySeconds });
    return 'retry';
  }
  try {
    await deps.queue.send(ref, { delaySeconds, contentType: 'json' });
  } catch (error) {
    deps.log?.(`batch ${ref.batchId} item ${ref.index}: deferring its message failed; retried instead`, error);
    message.retry({ delaySeconds });
    return 'retry';
  }
  message.ack();
  // Touched: the sweep leaves an item that is only waiting its turn alone.
  await deps.queries.touch([ref], (deps.now ?? Date.now)()).catch(() => undefined);
  return 'deferred';
}

/** After a lease that ran nothing to the end (someone else's lease, a backoff, a lost lease): ack if settled, else retry when it may be leased. */
async function afterwards(message: QueueMessage, ref: ItemRef, deps: ConsumerDeps): Promise<MessageOutcome> {
  const now = deps.now ?? Date.now;
  const state = await deps.queries.itemState(ref);
  if (settled(state)) {
    message.ack();
    return 'acked';
  }
  const later = notBefore(state!, now());
  message.retry({ delaySeconds: later === null ? 1 : delaySecondsUntil(later, now()) });
  return 'retry';
}

/** The error a dead-lettered item is failed with. */
export const UNDELIVERABLE = {
  code: 'item_undeliverable',
  message: 'the item could not be run: its queue message was retried the most times allowed (the generation may exceed the Worker’s limits)',
} as const;

/**
 * The dead letter queue's messages: each item still open is leased and failed with
 * UNDELIVERABLE (a live lease elsewhere: retried after it runs out; the holder may still finish it).
 */
export async function consumeDeadLetters(
  batch: QueueBatch,
  deps: { store: BatchStore; queries: BatchQueueQueries; now?: () => number; log?: ConsumerDeps['log'] },
): Promise<void> {
  const now = deps.now ?? Date.now;
  for (const message of batch.messages) {
    const ref = parseRef(message.body);
    try {
      const state = ref ? await deps.queries.itemState(ref) : null;
      if (!ref || settled(state)) {
        message.ack();
        continue;
      }
      const later = notBefore(state!, now());
      if (later !== null) {
        message.retry({ delaySeconds: delaySecondsUntil(later, now()) });
        continue;
      }
      const item = await deps.store.leaseItem(ref, DEFAULT_LEASE_MS);
      if (item) {
        await deps.store.fail(item, UNDELIVERABLE);
        deps.log?.(`batch ${ref.batchId} item ${ref.index}: dead-lettered, failed as ${UNDELIVERABLE.code}`);
        message.ack();
      } else if (settled(await deps.queries.itemState(ref))) message.ack();
      else message.retry({ delaySeconds: ERROR_RETRY_SECONDS });
    } catch (error) {
      deps.log?.('batches: a dead-lettered message failed', error);
      message.retry({ delaySeconds: ERROR_RETRY_SECONDS });
    }
  }
}
