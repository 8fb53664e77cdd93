import type { GenerateRequest, InterpolateRequest } from '@aurora-edge/model';
import type { AnimationOptions, ImageWithPartials, InterpolatedFrames } from '../generate/wasm.ts';

/** workerData of a WASM generator thread: the one bundle folder it loads. */
export interface WasmWorkerData {
  readonly bundleDir: string;
}

/** A batch of generations (with each image's partial images when `partials`), or one prompt interpolation (its frames and APNG). */
export type ToWasmWorker =
  | { readonly id: number; readonly requests: GenerateRequest[]; readonly partials?: boolean }
  | { readonly id: number; readonly interpolate: InterpolateRequest; readonly animation: AnimationOptions };

export type FromWasmWorker =
  | { readonly type: 'ready'; readonly contentHash: string; readonly heapBytes: number }
  | { readonly type: 'failed'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly heapBytes: number;
      readonly images?: ImageWithPartials[];
      readonly interpolation?: InterpolatedFrames;
      readonly error?: { name: string; message: string; field?: string };
    };
