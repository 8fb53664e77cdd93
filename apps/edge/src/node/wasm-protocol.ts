import type { GeneratedImage, GenerateRequest } from '@aurora-edge/model';

/** workerData of a WASM generator thread: the one bundle folder it loads. */
export interface WasmWorkerData {
  readonly bundleDir: string;
}

export type ToWasmWorker = { readonly id: number; readonly requests: GenerateRequest[] };

export type FromWasmWorker =
  | { readonly type: 'ready'; readonly contentHash: string; readonly heapBytes: number }
  | { readonly type: 'failed'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly heapBytes: number;
      readonly images?: GeneratedImage[];
      readonly error?: { name: string; message: string; field?: string };
    };
