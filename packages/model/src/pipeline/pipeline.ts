import { type BundleSource, readVerified } from '../bundle/bundle.ts';
import type { BundleManifest } from '../bundle/manifest.ts';
import { encodePng } from '../image/png.ts';
import { toUint8Image } from '../image/postprocess.ts';
import { GeneratorSession } from '../runtime/generator-session.ts';
import { ServingSession } from '../runtime/serving-session.ts';
import type { OrtModule } from '../runtime/ort-types.ts';
import { MAX_SEED, sampleCenterLatents, sampleLatents } from '../sampling/latent.ts';
import { AuroraInputError } from './errors.ts';
import { PromptEncoder } from './prompt-encoder.ts';
import { createGraphSession, type SessionLoadOptions } from './sessions.ts';

export interface GenerateRequest {
  readonly prompt: string;
  /** uint32; the latent is sampleLatent(seed). */
  readonly seed: number;
  /** Truncation psi in [0, 1]; the bundle's default when omitted. */
  readonly psi?: number;
  /**
   * The prompt's token ids as validate() returned them (this bundle's tokenizer): a caller that
   * checked the request already passes them so the prompt is not tokenized again.
   */
  readonly tokenIds?: Int32Array;
}

/** Stages of one generate() call, for progress displays. */
export type GenerateStage = 'encoding-text' | 'generating';

export interface GenerateOptions {
  readonly onStage?: (stage: GenerateStage) => void;
  /**
   * Also return each image's partial images (the lower-resolution images its output is built
   * from, smallest first), for streaming. Needs the bundle's serving graph (manifest `serving`);
   * without one, `partials` is empty.
   */
  readonly partials?: boolean;
}

/** A lower-resolution image an output is built from (GenerateOptions.partials). */
export interface PartialImage {
  readonly width: number;
  readonly height: number;
  readonly png: Uint8Array;
  /** HWC uint8, postprocessed as the full image is (AuroraPipeline always sets it; optional so stand-ins may omit it). */
  readonly pixels?: Uint8Array;
}

export interface PipelineLoadOptions extends SessionLoadOptions {
  /**
   * Also load generator.onnx when the bundle has a serving graph (which then makes the images), for
   * callers that run the generator graph directly. Without a serving graph it is always loaded.
   */
  readonly generatorSession?: boolean;
}

export interface GeneratedImage {
  readonly prompt: string;
  readonly seed: number;
  readonly psi: number;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** HWC uint8, as the reference postprocess gives. */
  readonly pixels: Uint8Array;
  readonly png: Uint8Array;
  /** With GenerateOptions.partials: the partial images, smallest first. */
  readonly partials?: readonly PartialImage[];
}

/**
 * Prompt + seed + psi -> PNG, the same on every runtime: tokenizer, seeded latents, then the
 * bundle's serving graph (text encoder, generator with truncation toward w_avg and the prompt's
 * text-conditional centre as the reference run_synthesize does, and the reference postprocess, in
 * one graph: serving/serving-graph.ts), and a deterministic PNG. A bundle made before the serving
 * graph runs the text encoder (once per distinct prompt) and generator graphs and postprocesses on
 * the host: the same bytes.
 */
export class AuroraPipeline {
  private readonly centerZ: Float32Array;

  private constructor(
    readonly source: BundleSource,
    /** The tokenizer and text encoder (prompt interpolation encodes with it; with a serving graph its session is made on first use). */
    readonly text: PromptEncoder,
    /** The generator graph: null when the serving graph makes the images (unless loaded with `generatorSession`). */
    readonly generator: GeneratorSession | null,
    /** The serving graph, when the bundle has one: what generate() runs. */
    readonly serving: ServingSession | null,
  ) {
    const m = source.manifest;
    this.centerZ = sampleCenterLatents(m.sampling.centerCount, m.generator.config.z_dim);
  }

  static async load(ort: OrtModule, source: BundleSource, options: PipelineLoadOptions = {}): Promise<AuroraPipeline> {
    const m = source.manifest;
    const loadGenerator = async () => {
      const session = await createGraphSession(ort, source, generatorGraph(m, options), options);
      return GeneratorSession.wrap(ort, session, { clipWidth: m.generator.config.clip_out_dim, contextLength: m.tokenizer.contextLength, zDim: m.generator.config.z_dim, numLayers: m.generator.numLayers });
    };
    // With a serving graph, the text encoder's session is made only when something encodes with it
    // (prompt interpolation): its graph is checked now all the same, and its weights by the serving graph.
    const [text, serving, generator] = await Promise.all([
      PromptEncoder.load(ort, source, options, { lazy: m.serving !== undefined }),
      m.serving ? ServingSession.load(ort, source, options) : null,
      !m.serving || options.generatorSession ? loadGenerator() : checkFile(source, m.generator.graph, options),
      m.serving ? checkFile(source, m.textEncoder.graph, options) : null,
    ]);
    return new AuroraPipeline(source, text, generator, serving);
  }

  get manifest(): BundleManifest {
    return this.source.manifest;
  }

  get contentHash(): string {
    return this.source.contentHash;
  }

  /**
   * Checks one request's fields (AuroraInputError naming the field) and returns the prompt's token
   * ids, which generate() then encodes: the one tokenization of the prompt. Pass them back as
   * `tokenIds` when generating later.
   */
  validate(request: GenerateRequest, index = 0): Int32Array {
    const at = (f: string) => (index ? `${f}[${index}]` : f);
    if (!Number.isInteger(request.seed) || request.seed < 0 || request.seed > MAX_SEED) throw new AuroraInputError(at('seed'), `must be an integer in [0, ${MAX_SEED}]`);
    const psi = request.psi ?? this.manifest.sampling.defaultPsi;
    if (typeof psi !== 'number' || !(psi >= 0 && psi <= 1)) throw new AuroraInputError(at('psi'), 'must be a number in [0, 1]');
    if (request.tokenIds) {
      if (request.tokenIds.length !== this.text.contextLength) throw new AuroraInputError(at('tokenIds'), `must hold ${this.text.contextLength} ids (this bundle's context length)`);
      return request.tokenIds;
    }
    return this.text.tokenize(request.prompt, at('prompt'));
  }

  async generate(requests: readonly GenerateRequest[], options: GenerateOptions = {}): Promise<GeneratedImage[]> {
    if (requests.length === 0) return [];
    // One tokenization per distinct prompt (requests for several seeds share a prompt).
    const idsByPrompt = new Map<string, Int32Array>();
    const rowIds = requests.map((r, i) => {
      const known = idsByPrompt.get(r.prompt);
      const ids = this.validate(known && !r.tokenIds ? { ...r, tokenIds: known } : r, i);
      if (!known) idsByPrompt.set(r.prompt, ids);
      return ids;
    });
    if (this.serving) return this.generateServing(this.serving, requests, rowIds, options);
    if (!this.generator) throw new Error('AuroraPipeline: no generator session');
    const m = this.manifest;
    const prompts = [...idsByPrompt.keys()];
    options.onStage?.('encoding-text');
    const encoded = await this.text.encodeIds([...idsByPrompt.values()]);
    options.onStage?.('generating');
    const n = requests.length;
    const rowSize = encoded.contextLength * encoded.width;
    const textTokens = new Float32Array(n * rowSize);
    const eotIndex: number[] = [];
    requests.forEach((r, i) => {
      const p = prompts.indexOf(r.prompt);
      textTokens.set(encoded.tokens.subarray(p * rowSize, (p + 1) * rowSize), i * rowSize);
      eotIndex.push(encoded.eotIndex[p]);
    });
    const psi = requests.map((r) => r.psi ?? m.sampling.defaultPsi);
    const k = m.sampling.centerCount;
    const centerZ = new Float32Array(n * this.centerZ.length);
    for (let i = 0; i < n; i++) centerZ.set(this.centerZ, i * this.centerZ.length);
    const out = await this.generator.run({
      textTokens,
      eotIndex,
      z: sampleLatents(requests.map((r) => r.seed), m.generator.config.z_dim),
      psi,
      center: { count: k, z: centerZ, use: new Array(n).fill(true) },
    });
    const [, c, h, w] = out.image.dims as number[];
    const pixels = toUint8Image(out.image.data as Float32Array, [n, c, h, w]);
    return requests.map((r, i) => ({
      prompt: r.prompt,
      seed: r.seed,
      psi: psi[i],
      width: w,
      height: h,
      channels: c,
      pixels: pixels[i],
      png: encodePng(pixels[i], w, h, c as 1 | 3 | 4),
      ...(options.partials ? { partials: [] } : {}),
    }));
  }

  /** One run of the serving graph: each row's ids, latent and psi in, uint8 NHWC images out. */
  private async generateServing(serving: ServingSession, requests: readonly GenerateRequest[], rowIds: readonly Int32Array[], options: GenerateOptions): Promise<GeneratedImage[]> {
    const m = this.manifest;
    const n = requests.length;
    const L = this.text.contextLength;
    const inputIds = new Int32Array(n * L);
    rowIds.forEach((ids, i) => inputIds.set(ids, i * L));
    const psi = requests.map((r) => r.psi ?? m.sampling.defaultPsi);
    options.onStage?.('encoding-text');
    options.onStage?.('generating');
    const out = await serving.run({
      inputIds,
      z: sampleLatents(requests.map((r) => r.seed), m.generator.config.z_dim),
      psi: Float32Array.from(psi),
      batch: n,
      partials: options.partials,
    });
    const [, h, w, c] = out.dims;
    const image = (data: Uint8Array, i: number, side: number) => data.slice(i * side * side * c, (i + 1) * side * side * c);
    return requests.map((r, i) => {
      const pixels = image(out.images, i, h);
      const partials = out.partials?.map((p) => {
        const px = image(p.images, i, p.res);
        return { width: p.res, height: p.res, pixels: px, png: encodePng(px, p.res, p.res, c as 1 | 3 | 4) };
      });
      return {
        prompt: r.prompt,
        seed: r.seed,
        psi: psi[i],
        width: w,
        height: h,
        channels: c,
        pixels,
        png: encodePng(pixels, w, h, c as 1 | 3 | 4),
        ...(partials ? { partials } : {}),
      };
    });
  }
}

/**
 * Checks a file the pipeline does not open (yet) against the manifest: the serving graph makes the
 * images, but generator.onnx and text-encoder.onnx are still the bundle's, and a pipeline never loads
 * a bundle with a damaged file it names. Streamed where the source has local files.
 */
async function checkFile(source: BundleSource, name: string, options: SessionLoadOptions): Promise<null> {
  if (options.preferPaths && source.verifiedPath) await source.verifiedPath(name);
  else await readVerified(source, name);
  return null;
}

/** The generator graph to load: the bundle's GPU graph when asked for and present. */
function generatorGraph(m: BundleManifest, options: SessionLoadOptions): { graph: string; externalData: string | null } {
  const graph = options.generatorGraph === 'gpu' && m.generator.gpuGraph ? m.generator.gpuGraph : m.generator.graph;
  return { graph, externalData: m.generator.externalData };
}
