import type { ExecutionProvider, ProviderOptions } from './execution-provider.ts';
import type { ModelRequest } from './item-validator.ts';

/** workerData of a model worker: one bundle, loaded on the provider the main thread resolved, warmed up at full batch. */
export interface WorkerConfig extends ProviderOptions {
  readonly bundleDir: string;
  readonly executionProvider: ExecutionProvider;
  readonly warmUpBatch: number;
}

/** An image as it crosses back to the HTTP thread (the PNG's buffer is transferred, not copied). */
export interface BatchImage {
  readonly psi: number;
  readonly width: number;
  readonly height: number;
  readonly png: Uint8Array;
}

export type ToWorker = { readonly type: 'generate'; readonly id: number; readonly items: readonly ModelRequest[] };

export type FromWorker =
  | { readonly type: 'ready'; readonly warmUpMs: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly images: BatchImage[] }
  | { readonly type: 'result'; readonly id: number; readonly error: { readonly name: string; readonly message: string } };
