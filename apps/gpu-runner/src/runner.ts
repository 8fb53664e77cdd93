import type { Hono } from 'hono';
import { createRunnerApp } from './app.ts';
import { DynamicBatcher } from './batcher.ts';
import type { RowImages, ServingRow } from './infer.ts';
import { createRunnerMetrics, instrumentBatches, type RunnerMetrics } from './metrics.ts';
import type { ServingBatch, ServingOutput } from './serving.ts';
import { RunnerState } from './state.ts';

export interface RunnerOptions {
  /** Runs one batch of one bundle (ModelHost.run in the server); the batch's buffers are its to keep. */
  readonly runBatch: (bundle: string, batch: ServingBatch) => Promise<ServingOutput>;
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
  readonly batcher: DynamicBatcher<ServingRow, RowImages>;
  readonly metrics: RunnerMetrics;
  readonly app: Hono;
}

/** Rows (from any number of requests) -> one batch's contiguous tensors. */
export function batchOf(rows: readonly ServingRow[]): ServingBatch {
  const n = rows.length;
  const L = rows[0].inputIds.length;
  const zDim = rows[0].z.length;
  const inputIds = new Int32Array(n * L);
  const z = new Float32Array(n * zDim);
  const psi = new Float32Array(n);
  rows.forEach((r, i) => {
    inputIds.set(r.inputIds, i * L);
    z.set(r.z, i * zDim);
    psi[i] = r.psi;
  });
  return { batch: n, inputIds, z, psi, partials: rows.some((r) => r.partials) };
}

/** One batch's NHWC images (and partial images) -> one HWC view of each per row. */
export function splitImages(output: ServingOutput, rows: number): RowImages[] {
  const [n, h, w, c] = output.dims;
  if (n !== rows) throw new Error(`the model returned ${n} images for ${rows} rows`);
  const row = (images: Uint8Array, size: number, i: number) => images.subarray(i * size, (i + 1) * size);
  return Array.from({ length: n }, (_, i) => ({
    image: row(output.images, h * w * c, i),
    partials: (output.partials ?? []).map((p) => row(p.images, p.dims[1] * p.dims[2] * p.dims[3], i)),
  }));
}

/**
 * Wires state, batcher, metrics and the HTTP app. The batcher coalesces rows across requests;
 * one batch = one runBatch call = one serving run in a model worker, which encodes each distinct
 * row of token ids once.
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
  const run = async (bundle: string, rows: ServingRow[]) => splitImages(await options.runBatch(bundle, batchOf(rows)), rows.length);
  const batcher = new DynamicBatcher<ServingRow, RowImages>({
    keyOf: (row) => row.bundle,
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
    maxQueueDelayMs: options.maxQueueDelayMs,
    preferredBatchSizes: options.preferredBatchSizes,
    maxBodyBytes: options.maxBodyBytes ?? 1 << 20,
    logError: options.logError,
  });
  return { state, batcher, metrics, app };
}
