import type { BundleSource } from '../bundle/bundle.ts';
import type { BundleManifest } from '../bundle/manifest.ts';
import { concatFloats } from '../bytes.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';
import { TEXT_TOKENS } from '../generator/generator.ts';
import { encodePng } from '../image/png.ts';
import { toUint8Image } from '../image/postprocess.ts';
import type { InferenceSession, OrtModule, Tensor } from '../runtime/ort-types.ts';
import { MAX_SEED, sampleCenterLatents, sampleLatents } from '../sampling/latent.ts';
import { AuroraInputError } from './errors.ts';
import type { PromptEncoder } from './prompt-encoder.ts';
import { createGraphSession, type SessionLoadOptions } from './sessions.ts';

/** The most frames one interpolation may ask for (the API's bound; a batch of this many runs at once). */
export const MAX_INTERPOLATION_STEPS = 33;
/** The most centre latents an interpolation may average (each is one more mapping pass per frame). */
export const MAX_CENTER_COUNT = 256;

/**
 * One prompt turning into another, as the reference run_interpolate.py does it: one latent z, the
 * text head's local codes of the two prompts blended linearly over `steps` frames (frame 0 is the
 * source, the last the destination), and the mapping fed the source's global code, or the blended
 * one too with `interpolateGlobal` (the reference's `--inter_g`).
 */
export interface InterpolateRequest {
  readonly from: string;
  readonly to: string;
  /** Frames, >= 2 (the reference's inter_step; default 9 at the API). */
  readonly steps: number;
  /** uint32; z = sampleLatent(seed), the same for every frame. */
  readonly seed: number;
  /** Truncation psi in [0, 1] (the reference's trunc_val); the bundle's default when omitted. */
  readonly psi?: number;
  /** Blend the global code too (the reference's `--inter_g`); default false. */
  readonly interpolateGlobal?: boolean;
  /** Leading layers truncated; default all (the reference's default). */
  readonly truncLayers?: number;
  /**
   * After truncating toward w_avg, truncate toward the mean code of this many latents mapped with
   * the frame's global code (the reference's `--loop_mapping`; the text-conditional centre our
   * generations use, with the bundle's centerCount latents). 0, the reference's default: none.
   */
  readonly centerCount?: number;
}

/** The codes and latents of one interpolation, as the image stage takes them (conformance feeds its own). */
export interface InterpolationInputs {
  /** [2, ctx] and [2, 76, ctx]: the text stage's codes of the source (row 0) and destination (row 1). */
  readonly globalText: Float32Array;
  readonly localText: Float32Array;
  readonly steps: number;
  readonly z: Float32Array;
  readonly psi: number;
  readonly truncLayers: number;
  readonly interpolateGlobal: boolean;
  /** [K, z_dim] centre latents; empty for none. */
  readonly centerZ: Float32Array;
}

export interface InterpolationOutputs {
  /** [steps, ctx]: the code the mapping saw per frame. */
  readonly globalText: Float32Array;
  /** [steps, 76, ctx] */
  readonly localText: Float32Array;
  /** [steps, L, w_dim] after truncation. */
  readonly wp: Float32Array;
  /** [steps, C, R, R] raw generator output. */
  readonly image: Float32Array;
  readonly imageDims: readonly [number, number, number, number];
}

export interface InterpolationFrame {
  readonly index: number;
  /** The blend weight toward the destination, in [0, 1]. */
  readonly t: number;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** HWC uint8. */
  readonly pixels: Uint8Array;
  readonly png: Uint8Array;
}

export interface Interpolation {
  readonly from: string;
  readonly to: string;
  readonly seed: number;
  readonly psi: number;
  readonly steps: number;
  readonly interpolateGlobal: boolean;
  readonly truncLayers: number;
  readonly centerCount: number;
  readonly frames: readonly InterpolationFrame[];
}

/**
 * The blend weights of `steps` frames exactly as the reference computes them: numpy's
 * linspace(0, 1, steps) in float64 (i * (1 / (steps - 1)), the last set to 1), then cast to float32.
 */
export function interpolationWeights(steps: number): Float32Array {
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`steps must be an integer >= 2, got ${String(steps)}`);
  const step = 1 / (steps - 1);
  const t = Float32Array.from({ length: steps }, (_, i) => i * step);
  t[steps - 1] = 1;
  return t;
}

/**
 * src + t * (dst - src) per frame, in float32 as the reference's numpy does (each operation
 * rounded to float32): frame 0 is exactly the source.
 */
export function blendCodes(src: Float32Array, dst: Float32Array, weights: Float32Array): Float32Array {
  if (src.length !== dst.length) throw new RangeError(`codes differ in size: ${src.length} vs ${dst.length}`);
  const n = src.length;
  const out = new Float32Array(weights.length * n);
  const diff = new Float32Array(n);
  for (let j = 0; j < n; j++) diff[j] = dst[j] - src[j];
  weights.forEach((t, f) => {
    for (let j = 0; j < n; j++) out[f * n + j] = src[j] + Math.fround(t * diff[j]);
  });
  return out;
}

/** What the stage runner needs to know of the generator. */
export interface StagesShape {
  readonly config: Pick<GeneratorConfig, 'clip_out_dim' | 'context_dim' | 'z_dim'>;
  readonly numLayers: number;
}

/**
 * The generator's two stages (generator/stages.ts): text features -> codes, and codes + latents ->
 * images, with the frames of one interpolation run as one batch (a batch never changes an image,
 * so a frame is the same alone).
 */
export class GeneratorStages {
  constructor(
    private readonly ort: OrtModule,
    private readonly textStage: InferenceSession,
    private readonly imageStage: InferenceSession,
    readonly shape: StagesShape,
  ) {}

  /** The text stage on CLIP features [P, 77, clip_out_dim] -> global [P, ctx] and local [P, 76, ctx] codes. */
  async textCodes(textTokens: Float32Array, eotIndex: readonly number[]): Promise<{ globalText: Float32Array; localText: Float32Array }> {
    const n = eotIndex.length;
    const { Tensor } = this.ort;
    const out = await this.textStage.run(
      {
        text_tokens: new Tensor('float32', textTokens, [n, TEXT_TOKENS, this.shape.config.clip_out_dim]),
        eot_index: new Tensor(
          'int64',
          BigInt64Array.from(eotIndex, (v) => BigInt(v)),
          [n],
        ),
      },
      ['global_text', 'local_text'],
    );
    return { globalText: floats(out.global_text), localText: floats(out.local_text) };
  }

  /**
   * Every frame's codes and image from the two prompts' codes: the reference's loop, batched. With
   * `maxBatch`, the image stage runs on at most that many frames at a time (same bytes: a batch
   * never changes an image), which bounds the memory a run needs: onnxruntime-web's wasm heap grows
   * by ~10 MiB a frame for aurora-tiny and never shrinks, where a Worker has 128 MB in all.
   */
  async frames(inputs: InterpolationInputs, options: FramesOptions = {}): Promise<InterpolationOutputs> {
    const c = this.shape.config;
    const ctx = c.context_dim;
    const S = TEXT_TOKENS - 1;
    const { steps } = inputs;
    const weights = interpolationWeights(steps);
    const src = (codes: Float32Array, size: number) => codes.subarray(0, size);
    const dst = (codes: Float32Array, size: number) => codes.subarray(size, 2 * size);
    const localText = blendCodes(src(inputs.localText, S * ctx), dst(inputs.localText, S * ctx), weights);
    const globalSrc = src(inputs.globalText, ctx);
    const globalText = blendCodes(globalSrc, inputs.interpolateGlobal ? dst(inputs.globalText, ctx) : globalSrc, weights);
    const k = inputs.centerZ.length / c.z_dim;
    if (!Number.isInteger(k)) throw new RangeError(`centerZ: ${inputs.centerZ.length} values is not a whole number of ${c.z_dim}-dim latents`);
    const { Tensor } = this.ort;
    const numLayers = this.shape.numLayers;
    const maxBatch = options.maxBatch ?? steps;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be an integer >= 1, got ${String(maxBatch)}`);
    const run = async (from: number, n: number) => {
      const feeds: Record<string, Tensor> = {
        global_text: new Tensor('float32', globalText.slice(from * ctx, (from + n) * ctx), [n, ctx]),
        local_text: new Tensor('float32', localText.slice(from * S * ctx, (from + n) * S * ctx), [n, S, ctx]),
        z: new Tensor('float32', repeatRows(inputs.z, n), [n, c.z_dim]),
        trunc_psi: new Tensor('float32', new Float32Array(n).fill(inputs.psi), [n]),
        trunc_layers: new Tensor('int64', BigInt64Array.of(BigInt(Math.min(numLayers, Math.max(0, inputs.truncLayers)))), [1]),
        // With no centre, one unused latent per frame (the graph needs K >= 1; use_center is false).
        center_z: new Tensor('float32', k > 0 ? repeatRows(inputs.centerZ, n) : new Float32Array(n * c.z_dim), [n, Math.max(k, 1), c.z_dim]),
        use_center: new Tensor('bool', new Uint8Array(n).fill(k > 0 ? 1 : 0), [n]),
      };
      return this.imageStage.run(feeds, ['image', 'wp']);
    };
    if (maxBatch >= steps) {
      const out = await run(0, steps);
      const [n, ch, h, w] = out.image.dims.map(Number);
      return { globalText, localText, wp: floats(out.wp), image: floats(out.image), imageDims: [n, ch, h, w] };
    }
    const images: Float32Array[] = [];
    const wps: Float32Array[] = [];
    let dims: number[] = [];
    for (let from = 0; from < steps; from += maxBatch) {
      const out = await run(from, Math.min(maxBatch, steps - from));
      images.push(floats(out.image).slice());
      wps.push(floats(out.wp).slice());
      dims = out.image.dims.map(Number);
    }
    const [, ch, h, w] = dims;
    return { globalText, localText, wp: concatFloats(wps), image: concatFloats(images), imageDims: [steps, ch, h, w] };
  }
}

/** How the image stage is run. */
export interface FramesOptions {
  /** The most frames one run of the image stage takes (default all: one batch). The bytes are the same either way. */
  readonly maxBatch?: number;
}

/** `row` repeated `times` times, row-major. */
function repeatRows(row: Float32Array, times: number): Float32Array {
  const out = new Float32Array(row.length * times);
  for (let i = 0; i < times; i++) out.set(row, i * row.length);
  return out;
}

/** A bundle's prompt interpolation: its prompt encoder and its generator stages. */
export class AuroraInterpolator {
  private constructor(
    readonly source: BundleSource,
    readonly text: PromptEncoder,
    readonly stages: GeneratorStages,
  ) {}

  /** Whether a bundle can interpolate (bundles made before the stages existed cannot). */
  static supports(manifest: BundleManifest): boolean {
    return manifest.generator.stages !== undefined;
  }

  /**
   * Loads the stages; `text` is the pipeline's prompt encoder (tokenizer and CLIP text graph),
   * shared. options.generatorGraph 'gpu' takes the grouped-MoE image stage when the bundle has one.
   */
  static async load(ort: OrtModule, source: BundleSource, text: PromptEncoder, options: SessionLoadOptions = {}): Promise<AuroraInterpolator> {
    const m = source.manifest;
    const stages = m.generator.stages;
    if (!stages)
      throw new AuroraInputError(
        'model',
        `${m.id} ${m.version} has no interpolation stages: add them with \`aurora upgrade <bundle-dir>\``,
      );
    const externalData = m.generator.externalData;
    const image = options.generatorGraph === 'gpu' && stages.imageGpu ? stages.imageGpu : stages.image;
    // One at a time: onnxruntime-web loads one session's external data at a time (see sessions.ts).
    const textStage = await createGraphSession(ort, source, { graph: stages.text, externalData }, options);
    const imageStage = await createGraphSession(ort, source, { graph: image, externalData }, options);
    return new AuroraInterpolator(
      source,
      text,
      new GeneratorStages(ort, textStage, imageStage, { config: m.generator.config, numLayers: m.generator.numLayers }),
    );
  }

  get manifest(): BundleManifest {
    return this.source.manifest;
  }

  /** Checks a request's fields (AuroraInputError naming the field) and fills in the defaults. */
  resolve(request: InterpolateRequest): Required<InterpolateRequest> {
    return this.check(request).resolved;
  }

  /** resolve(), with the two prompts' token ids (their only tokenization). */
  private check(request: InterpolateRequest): { resolved: Required<InterpolateRequest>; tokenIds: [Int32Array, Int32Array] } {
    const m = this.manifest;
    const numLayers = m.generator.numLayers;
    const { steps, seed } = request;
    if (!Number.isInteger(steps) || steps < 2 || steps > MAX_INTERPOLATION_STEPS)
      throw new AuroraInputError('steps', `must be an integer in [2, ${MAX_INTERPOLATION_STEPS}]`);
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new AuroraInputError('seed', `must be an integer in [0, ${MAX_SEED}]`);
    const psi = request.psi ?? m.sampling.defaultPsi;
    if (typeof psi !== 'number' || !(psi >= 0 && psi <= 1)) throw new AuroraInputError('psi', 'must be a number in [0, 1]');
    const truncLayers = request.truncLayers ?? numLayers;
    if (!Number.isInteger(truncLayers) || truncLayers < 0 || truncLayers > numLayers)
      throw new AuroraInputError('trunc_layers', `must be an integer in [0, ${numLayers}]`);
    const centerCount = request.centerCount ?? 0;
    if (!Number.isInteger(centerCount) || centerCount < 0 || centerCount > MAX_CENTER_COUNT)
      throw new AuroraInputError('center_count', `must be an integer in [0, ${MAX_CENTER_COUNT}]`);
    const tokenIds: [Int32Array, Int32Array] = [this.text.tokenize(request.from, 'from'), this.text.tokenize(request.to, 'to')];
    const resolved = { from: request.from, to: request.to, steps, seed, psi, truncLayers, centerCount, interpolateGlobal: request.interpolateGlobal ?? false };
    return { resolved, tokenIds };
  }

  /** Prompts -> frames (PNG each), validated; the frames run as one batch (or batches of options.maxBatch). */
  async interpolate(request: InterpolateRequest, options: FramesOptions = {}): Promise<Interpolation> {
    const { resolved: r, tokenIds } = this.check(request);
    const c = this.manifest.generator.config;
    const encoded = await this.text.encodeIds(tokenIds);
    const codes = await this.stages.textCodes(encoded.tokens, encoded.eotIndex);
    const out = await this.stages.frames(
      {
        ...codes,
        steps: r.steps,
        z: sampleLatents([r.seed], c.z_dim),
        psi: r.psi,
        truncLayers: r.truncLayers,
        interpolateGlobal: r.interpolateGlobal,
        centerZ: r.centerCount > 0 ? sampleCenterLatents(r.centerCount, c.z_dim) : new Float32Array(0),
      },
      options,
    );
    const [n, ch, h, w] = out.imageDims;
    const pixels = toUint8Image(out.image, [n, ch, h, w]);
    const weights = interpolationWeights(r.steps);
    const frames = pixels.map((p, index) => ({
      index,
      t: weights[index],
      width: w,
      height: h,
      channels: ch,
      pixels: p,
      png: encodePng(p, w, h, ch as 1 | 3 | 4),
    }));
    return { ...r, frames };
  }
}

const floats = (t: Tensor) => t.data as Float32Array;
