import {
  type AuroraInterpolator,
  type AuroraPipeline,
  encodeApng,
  type GeneratedImage,
  type GenerateOptions,
  type GenerateRequest,
  type InterpolateRequest,
  type PngChannels,
  SerialQueue,
} from '@aurora-edge/model';

/** One of an image's lower-resolution outputs (the generator's multi-scale partial images). */
export interface PartialImage {
  readonly width: number;
  readonly height: number;
  readonly png: Uint8Array;
  /** HWC uint8, when the pipeline hands them over (it does): spares decoding the PNG. */
  readonly pixels?: Uint8Array;
}

/** A generated image with the partial images a `{ partials: true }` generation adds, lower resolutions first (none when the bundle has none). */
export type ImageWithPartials = GeneratedImage & { readonly partials?: readonly PartialImage[] };

/**
 * The pipeline option that asks for each image's partial images (AuroraPipeline.generate's
 * `partials`). A pipeline without it ignores it and returns none, so callers get 0 partials.
 */
export const WITH_PARTIALS = { partials: true } as GenerateOptions & { readonly partials: true };

/** Whether generation options ask for partial images. */
export function wantsPartials(options: GenerateOptions | undefined): boolean {
  return (options as { partials?: boolean } | undefined)?.partials === true;
}

/** What a partials watcher is told: the request's seed and the image's partial images (possibly none). */
export type PartialsListener = (seed: number, partials: readonly PartialImage[]) => void;

/** The identity of one in-process image request: the raw prompt as generated, its seed and its (canonical) psi. */
function partialsKey(prompt: string, seed: number, psi: number | undefined): string {
  return JSON.stringify([prompt, seed, psi ?? null]);
}

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
  private readonly partialWatchers = new Map<string, Set<PartialsListener>>();

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

  /**
   * Asks for the partial images of the in-process generations of `prompt` (raw, as the service
   * passes it) with these seeds and psi, whoever's request runs them (a streamed request that
   * joined an identical generation in flight gets them too): each such image is then generated
   * with WITH_PARTIALS and `listener` is called with its partials as soon as it is made, before
   * the batch ends. Images generated elsewhere (runners) or already cached never call it.
   * Returns the function that stops watching.
   */
  watchPartials(prompt: string, psi: number, seeds: readonly number[], listener: PartialsListener): () => void {
    const keys = seeds.map((seed) => partialsKey(prompt, seed, psi));
    for (const key of keys) {
      let set = this.partialWatchers.get(key);
      if (!set) this.partialWatchers.set(key, (set = new Set()));
      set.add(listener);
    }
    return () => {
      for (const key of keys) {
        const set = this.partialWatchers.get(key);
        set?.delete(listener);
        if (set?.size === 0) this.partialWatchers.delete(key);
      }
    };
  }

  generate(requests: readonly GenerateRequest[]): Promise<GeneratedImage[]> {
    this.running += requests.length;
    const run = async () => {
      const pipeline = await this.warm();
      const out: GeneratedImage[] = [];
      for (const request of requests) {
        const watchers = this.partialWatchers.get(partialsKey(request.prompt, request.seed, request.psi));
        if (!watchers) {
          out.push(...(await pipeline.generate([request])));
          continue;
        }
        const images: ImageWithPartials[] = await pipeline.generate([request], WITH_PARTIALS);
        for (const listener of [...watchers]) {
          try {
            listener(request.seed, images[0]?.partials ?? []);
          } catch {
            // A watcher's failure (a stream whose client left) is its own: the generation goes on.
          }
        }
        out.push(...images);
      }
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
