import type { GenerationInput, GenerationResult } from '../generate/service.ts';
import { publicMessage, toEdgeError } from '../errors.ts';
import type { BatchStore, ItemRef, LeasedItem, StoredImage } from './store.ts';

/** How long a lease lasts unless renewed (renewed every third of it while the item runs). */
export const DEFAULT_LEASE_MS = 60_000;
/** Leases of one item at most: past them a transient failure (503: no runner, busy) fails the item. */
export const MAX_ITEM_ATTEMPTS = 5;

/** What processing an item needs: runtime-free, so a Workers Queues consumer can build it too. */
export interface BatchProcessDeps {
  readonly store: BatchStore;
  /** The gateway's normal generation path (GenerationService.generate: cache, single flight, routing). */
  readonly generate: (input: GenerationInput) => Promise<GenerationResult>;
  /** Images per generate call at most (an item's n seeds are split into calls this large; default 16). */
  readonly maxImagesPerCall?: number;
  readonly leaseMs?: number;
  /** Where deferred work goes (hit counting): ctx.waitUntil on Workers; default: a caught promise. */
  readonly defer?: (work: Promise<unknown>) => void;
  readonly now?: () => number;
  readonly log?: (message: string, error?: unknown) => void;
}

/** What became of an item: done, failed, handed back for a later retry, or not ours to run (finished, cancelled, leased elsewhere). */
export type ItemOutcome = 'completed' | 'failed' | 'retry' | 'skipped';

/**
 * Runs one batch item: leases it (skipped when it is finished, cancelled or leased by someone
 * else) and runs it as runLeasedItem does. What a Workers Queues consumer calls per message
 * { batchId, index }; redelivered messages are harmless.
 */
export async function processBatchItem(deps: BatchProcessDeps, ref: ItemRef): Promise<ItemOutcome> {
  const item = await deps.store.leaseItem(ref, deps.leaseMs ?? DEFAULT_LEASE_MS);
  return item ? runLeasedItem(deps, item) : 'skipped';
}

/** Backoff before a transient failure's retry: 2 s, 4 s, 8 s, ... (at most a minute). */
const retryDelayMs = (attempt: number) => Math.min(60_000, 1000 * 2 ** attempt);

/**
 * Runs an item this process holds the lease of, through the normal generation path (so each
 * image lands in the cache once: a retried item finds what an earlier attempt stored), renewing
 * the lease while it runs, and records the outcome (completed with its images, failed with a
 * public error, or handed back after a transient 503 with a backoff).
 */
export async function runLeasedItem(deps: BatchProcessDeps, item: LeasedItem): Promise<ItemOutcome> {
  const { store } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const renewal = setInterval(
    () => {
      store.renew(item, leaseMs).catch((error) => log(`batch ${item.batchId} item ${item.index}: renewing its lease failed`, error));
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  try {
    const model = await store.modelOf(item.batchId);
    const per = Math.max(1, deps.maxImagesPerCall ?? 16);
    const images: StoredImage[] = [];
    for (let first = 0; first < item.n; first += per) {
      const n = Math.min(per, item.n - first);
      const result = await deps.generate({
        prompt: item.prompt,
        n,
        seed: item.seed + first,
        psi: item.psi,
        model: model ?? undefined,
        cache: 'use',
        withPng: false,
        defer: deps.defer ?? ((work) => void work.catch(() => undefined)),
      });
      for (const img of result.images) images.push({ id: img.id, seed: img.seed, etag: img.etag });
    }
    return (await store.complete(item, images)) ? 'completed' : 'skipped';
  } catch (error) {
    const e = toEdgeError(error);
    if (e.status >= 500) log(`batch ${item.batchId} item ${item.index} (attempt ${item.attempts}): ${e.code}: ${e.message}`, e.cause ?? e);
    try {
      if ((e.status === 503 || e.status === 429) && item.attempts < MAX_ITEM_ATTEMPTS) {
        return (await store.release(item, now() + retryDelayMs(item.attempts))) ? 'retry' : 'skipped';
      }
      return (await store.fail(item, { code: e.code, message: publicMessage(e) })) ? 'failed' : 'skipped';
    } catch (recordError) {
      // The lease runs out and the item is retried by whoever leases it next.
      log(`batch ${item.batchId} item ${item.index}: recording its failure failed`, recordError);
      return 'retry';
    }
  } finally {
    clearInterval(renewal);
  }
}
