import {
  type AuroraInterpolator,
  type AuroraPipeline,
  encodeApng,
  type GeneratedImage,
  type GenerateRequest,
  type InterpolateRequest,
  type PngChannels,
  SerialQueue,
} from '@aurora-edge/model';

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
/** How an interpolation's animation plays: each frame's display time and the loop count (0: forever). */
export interface AnimationOptions {
  readonly delayMs: number;
  readonly loops: number;
}

/** A prompt interpolation as the gateway stores it: each frame's PNG and the animated PNG of them all. */
export interface InterpolatedFrames {
  readonly frames: readonly { readonly index: number; readonly t: number; readonly png: Uint8Array }[];
  readonly width: number;
  readonly height: number;
  /** APNG of every frame in order (encodeApng). */
  readonly apng: Uint8Array;
}

/**
 * What the in-process generator needs of a pipeline: an AuroraPipeline's generate, or (Node) a
 * handle on one in a worker thread; and, when the runtime offers it, prompt interpolation
 * (interpolatingPipeline), whose frames run as one batch and whose APNG is encoded where the
 * frames are made (on Node in the thread, so the main thread never runs zlib for them).
 */
export type WasmPipeline = Pick<AuroraPipeline, 'generate'> & {
  interpolate?(request: InterpolateRequest, animation: AnimationOptions): Promise<InterpolatedFrames>;
};

/**
 * Frames per run of the image stage in-process. Like generations (one image per batch), one frame
 * at a time: the bytes are the same as one batch of all (a batch never changes an image) and it is
 * no slower on single-threaded WASM, but onnxruntime-web's heap, which never shrinks, grows by ~10
 * MiB per frame of a batch for aurora-tiny (136 MiB after one 9-frame batch, 391 MiB after 33,
 * measured in the Node thread), past a Worker's 128 MB.
 */
export const INTERPOLATION_MAX_BATCH = 1;

/**
 * An in-process pipeline with prompt interpolation: the interpolator (the bundle's generator
 * stages, sharing the pipeline's prompt encoder) is loaded on the first interpolation only, so a
 * gateway that never interpolates never holds its sessions. Frames run INTERPOLATION_MAX_BATCH at a time.
 */
export function interpolatingPipeline(
  pipeline: AuroraPipeline,
  loadInterpolator: (pipeline: AuroraPipeline) => Promise<AuroraInterpolator>,
): Required<WasmPipeline> {
  let interpolator: Promise<AuroraInterpolator> | null = null;
  return {
    generate: (requests, options) => pipeline.generate(requests, options),
    async interpolate(request, animation) {
      interpolator ??= loadInterpolator(pipeline).catch((error) => {
        interpolator = null;
        throw error;
      });
      const result = await (await interpolator).interpolate(request, { maxBatch: INTERPOLATION_MAX_BATCH });
      const [first] = result.frames;
      const apng = encodeApng(
        result.frames.map((f) => f.pixels),
        first.width,
        first.height,
        first.channels as PngChannels,
        animation,
      );
      return { frames: result.frames.map((f) => ({ index: f.index, t: f.t, png: f.png })), width: first.width, height: first.height, apng };
    },
  };
}

export class WasmGenerator {
  private pipeline: Promise<WasmPipeline> | null = null;
  private readonly queue = new SerialQueue();
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
    return this.queue.run(run).finally(() => {
      this.running -= requests.length;
    });
  }

  /**
   * A prompt interpolation, queued with the generations (one model copy, one thing at a time); its
   * frames count in the depth. Throws when this runtime's pipeline cannot interpolate.
   */
  interpolate(request: InterpolateRequest, animation: AnimationOptions): Promise<InterpolatedFrames> {
    this.running += request.steps;
    const run = async () => {
      const pipeline = await this.warm();
      if (!pipeline.interpolate) throw new Error('this in-process generator cannot interpolate');
      return pipeline.interpolate(request, animation);
    };
    return this.queue.run(run).finally(() => {
      this.running -= request.steps;
    });
  }
}
