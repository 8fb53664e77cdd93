import type { BatchConfig } from '../config.ts';
import type { GenerationInput, GenerationResult } from '../generate/service.ts';
import type { BatchRow } from './schema.ts';
import type { BatchStore } from './store.ts';

/**
 * Called when a batch was created (after its commit): the batch, the indexes of its items left to
 * run, and where background work goes (ctx.waitUntil on Workers: e.g. sending one queue message per
 * item). The Node loop only wakes up.
 */
export type BatchCreatedListener = (batch: BatchRow, queued: readonly number[], defer: (work: Promise<unknown>) => void) => void;

/**
 * Batches as the app and the runtime entry share them: the store, the settings, the app's
 * generation path (bound by the routes when the app is built, so a process's batch loop goes
 * through the same single flight as its requests) and a hook that wakes the loop on creation.
 */
export class BatchRuntime {
  private generator: ((input: GenerationInput) => Promise<GenerationResult>) | null = null;
  private readonly listeners = new Set<BatchCreatedListener>();

  constructor(
    readonly store: BatchStore,
    readonly config: BatchConfig,
    /** SSE: how often a stream reads new events, and how often a keep-alive comment goes out when none came (ms). */
    readonly sse: { readonly pollMs: number; readonly keepAliveMs: number } = { pollMs: 250, keepAliveMs: 15_000 },
  ) {}

  bindGenerator(generate: (input: GenerationInput) => Promise<GenerationResult>): void {
    this.generator = generate;
  }

  /** The app's generation path; throws before the app was built. */
  readonly generate = (input: GenerationInput): Promise<GenerationResult> => {
    if (!this.generator) throw new Error('batches: no generation service bound (createApp has not run)');
    return this.generator(input);
  };

  onCreated(listener: BatchCreatedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  created(batch: BatchRow, queued: readonly number[], defer: (work: Promise<unknown>) => void): void {
    for (const listener of this.listeners) listener(batch, queued, defer);
  }
}
