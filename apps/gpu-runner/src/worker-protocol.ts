import type { ExecutionProvider, ProviderOptions } from './execution-provider.ts';
import type { ServingBatch, ServingOutput } from './serving.ts';

/** workerData of a model worker: one bundle, loaded on the provider the main thread resolved, warmed up at full batch. */
export interface WorkerConfig extends ProviderOptions {
  readonly bundleDir: string;
  readonly executionProvider: ExecutionProvider;
  readonly warmUpBatch: number;
}

/** A batch goes to the worker with its buffers transferred; the images come back the same way. */
export type ToWorker = { readonly type: 'run'; readonly id: number; readonly batch: ServingBatch };

export type FromWorker =
  | { readonly type: 'ready'; readonly warmUpMs: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly output: ServingOutput }
  | { readonly type: 'result'; readonly id: number; readonly error: { readonly name: string; readonly message: string } };
