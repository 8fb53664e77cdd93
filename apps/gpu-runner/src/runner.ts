import type { Hono } from 'hono';
import { createRunnerApp } from './app.ts';
import { DynamicBatcher } from './batcher.ts';
import type { ValidatedItem } from './generate.ts';
import type { ModelRequest } from './item-validator.ts';
import { createRunnerMetrics, instrumentBatches, type RunnerMetrics } from './metrics.ts';
import { RunnerState } from './state.ts';
import type { BatchImage } from './worker-protocol.ts';

export interface RunnerOptions {
  /** Runs one batch of one bundle (ModelHost.generate in the server). */
  readonly runBatch: (bundle: string, items: readonly ModelRequest[]) => Promise<BatchImage[]>;
  readonly maxBatch: number;
  readonly maxQueueDelayMs: number;
  readonly preferredBatchSizes?: readonly number[];
  readonly queueLimit: number;
  /** Batches of one bundle in flight at once (its number of model workers). */
  readonly maxConcurrentBatches?: number;
  readonly secret: string | null;
  readonly maxBodyBytes?: number;
  /** Node process metrics (CPU, memory, event loop) on /metrics; default true. */
  readonly processMetrics?: boolean;
  readonly logError?: (message: string, error: unknown) => void;
}

export interface Runner {
  readonly state: RunnerState;
  readonly batcher: DynamicBatcher<ValidatedItem, BatchImage>;
  readonly metrics: RunnerMetrics;
  readonly app: Hono;
}

/**
 * Wires state, batcher, metrics and the HTTP app. One batch = one runBatch call = one
 * AuroraPipeline.generate in a model worker, which encodes each distinct prompt of the batch once.
 */
export function createRunner(options: RunnerOptions): Runner {
  const state = new RunnerState();
  const metrics = createRunnerMetrics(
    {
      queueDepth: () => batcher.depth,
      ready: () => state.serving,
      executionProvider: () => ({ provider: state.executionProvider, adapter: state.adapter?.description ?? '' }),
    },
    { processMetrics: options.processMetrics },
  );
  const run = (bundle: string, items: ValidatedItem[]) =>
    options.runBatch(
      bundle,
      items.map(({ prompt, seed, psi }) => ({ prompt, seed, psi })),
    );
  const batcher = new DynamicBatcher<ValidatedItem, BatchImage>({
    keyOf: (item) => item.bundle,
    runBatch: instrumentBatches(metrics, run),
    maxBatch: options.maxBatch,
    maxQueueDelayMs: options.maxQueueDelayMs,
    preferredBatchSizes: options.preferredBatchSizes,
    queueLimit: options.queueLimit,
    maxConcurrentBatches: options.maxConcurrentBatches,
  });
  const app = createRunnerApp({
    state,
    batcher,
    metrics,
    secret: options.secret,
    maxBatch: options.maxBatch,
    queueLimit: options.queueLimit,
    maxBodyBytes: options.maxBodyBytes ?? 1 << 20,
    logError: options.logError,
  });
  return { state, batcher, metrics, app };
}
