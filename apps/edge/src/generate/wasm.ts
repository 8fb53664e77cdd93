import type { AuroraPipeline, GeneratedImage, GenerateRequest } from '@aurora-edge/model';

/**
 * Session options for the in-process generator on every runtime: no prepacked weight copies (the
 * graphs' weights already come as external data, never embedded), which keeps the wasm heap low.
 */
export const WASM_SESSION_OPTIONS = { extra: { session: { disable_prepacking: '1' } } };

/**
 * The in-process generator (onnxruntime-web, WASM SIMD, one thread) for one bundle. The pipeline
 * loads on first use (or `warm()`). Work is serialised, and each image runs as its own batch of
 * one: batching never changes an image, and batch 1 keeps the wasm heap near 61 MiB for
 * aurora-tiny where batch 2 takes it to ~96-115 MiB, too close to a Worker's 128 MB.
 */
/** What the in-process generator needs of a pipeline: an AuroraPipeline, or (Node) a handle on one in a worker thread. */
export type WasmPipeline = Pick<AuroraPipeline, 'generate'>;

export class WasmGenerator {
  private pipeline: Promise<WasmPipeline> | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private running = 0;

  constructor(private readonly load: () => Promise<WasmPipeline>) {}

  get loaded(): boolean {
    return this.pipeline !== null;
  }

  /** Images queued or running. */
  get depth(): number {
    return this.running;
  }

  warm(): Promise<WasmPipeline> {
    this.pipeline ??= this.load().catch((error) => {
      this.pipeline = null;
      throw error;
    });
    return this.pipeline;
  }

  generate(requests: readonly GenerateRequest[]): Promise<GeneratedImage[]> {
    this.running += requests.length;
    const run = async () => {
      const pipeline = await this.warm();
      const out: GeneratedImage[] = [];
      for (const request of requests) out.push(...(await pipeline.generate([request])));
      return out;
    };
    const result = this.tail.then(run, run).finally(() => {
      this.running -= requests.length;
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
