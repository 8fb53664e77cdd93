import { Worker } from 'node:worker_threads';
import { AuroraInputError, type GeneratedImage, type GenerateOptions, type GenerateRequest, type InterpolateRequest } from '@aurora-edge/model';
import { type AnimationOptions, type InterpolatedFrames, type WasmPipeline, wantsPartials } from '../generate/wasm.ts';
import type { FromWasmWorker, ToWasmWorker, WasmWorkerData } from './wasm-protocol.ts';

interface Pending {
  resolve(result: GeneratedImage[] | InterpolatedFrames): void;
  reject(error: Error): void;
}

/**
 * The Node gateway's handle on one WASM generator thread (wasm-worker.ts): a pipeline whose
 * `generate` runs in that thread, so Node's main thread keeps serving while an image is made. A
 * thread that dies fails its pending work, and the next call starts a new one.
 */
export class WasmThread implements WasmPipeline {
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private heap = 0;
  private closed = false;

  private constructor(
    private readonly bundleDir: string,
    private readonly contentHash: string,
  ) {}

  /** Starts the thread and resolves once its pipeline is loaded (it must load the bundle `contentHash` names). */
  static async start(bundleDir: string, contentHash: string): Promise<WasmThread> {
    const thread = new WasmThread(bundleDir, contentHash);
    await thread.ensure();
    return thread;
  }

  /** The thread's wasm heap (ORT's linear memory) as it last reported it. */
  get heapBytes(): number {
    return this.heap;
  }

  /** A batch, run in the thread; with WITH_PARTIALS each image brings its partial images (when the bundle makes them). */
  async generate(requests: GenerateRequest[], options?: GenerateOptions): Promise<GeneratedImage[]> {
    const partials = wantsPartials(options);
    return (await this.call((id) => (partials ? { id, requests, partials } : { id, requests }))) as GeneratedImage[];
  }

  /** A prompt interpolation, run in the thread (frames, their PNGs and the APNG). */
  async interpolate(request: InterpolateRequest, animation: AnimationOptions): Promise<InterpolatedFrames> {
    return (await this.call((id) => ({ id, interpolate: request, animation }))) as InterpolatedFrames;
  }

  private async call(message: (id: number) => ToWasmWorker): Promise<GeneratedImage[] | InterpolatedFrames> {
    const worker = await this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage(message(id));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker ?? (await this.starting?.catch(() => null));
    await worker?.terminate();
  }

  private ensure(): Promise<Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    if (this.closed) return Promise.reject(new Error('the WASM generator thread is closed'));
    this.starting ??= this.spawn().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private spawn(): Promise<Worker> {
    const worker = new Worker(new URL('./wasm-worker-entry.mjs', import.meta.url), { workerData: { bundleDir: this.bundleDir } satisfies WasmWorkerData });
    return new Promise<Worker>((resolve, reject) => {
      worker.on('message', (message: FromWasmWorker) => {
        if (message.type === 'ready') {
          this.heap = message.heapBytes;
          if (message.contentHash !== this.contentHash) {
            reject(new Error(`the WASM generator thread loaded bundle content ${message.contentHash}, expected ${this.contentHash}`));
            void worker.terminate();
            return;
          }
          this.worker = worker;
          resolve(worker);
        } else if (message.type === 'failed') {
          reject(new Error(`the WASM generator thread could not load ${this.bundleDir}: ${message.message}`));
        } else this.settle(message);
      });
      worker.on('error', (error) => reject(error));
      worker.once('exit', (code) => {
        if (this.worker === worker) this.worker = null;
        const error = new Error(`the WASM generator thread exited (code ${code})`);
        reject(error);
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
      });
    });
  }

  private settle(message: Extract<FromWasmWorker, { type: 'result' }>): void {
    this.heap = message.heapBytes;
    const p = this.pending.get(message.id);
    if (!p) return;
    this.pending.delete(message.id);
    if (message.images) p.resolve(message.images);
    else if (message.interpolation) p.resolve(message.interpolation);
    else {
      const e = message.error!;
      // Input errors keep their class and field (a 400 naming it); anything else is the thread's failure.
      p.reject(
        e.field !== undefined ? new AuroraInputError(e.field, e.message.replace(`${e.field}: `, '')) : Object.assign(new Error(e.message), { name: e.name }),
      );
    }
  }
}
