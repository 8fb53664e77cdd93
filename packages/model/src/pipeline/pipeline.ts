import type { BundleSource } from '../bundle/bundle.ts';
import type { BundleManifest } from '../bundle/manifest.ts';
import { encodePng } from '../image/png.ts';
import { toUint8Image } from '../image/postprocess.ts';
import { GeneratorSession } from '../runtime/generator-session.ts';
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
}

/**
 * Prompt + seed + psi -> PNG, the same on every runtime: tokenizer, text encoder (once per
 * distinct prompt), seeded latents, the generator graph with truncation toward w_avg and the
 * prompt's text-conditional centre (as the reference run_synthesize does), then the reference
 * postprocess and a deterministic PNG.
 */
export class AuroraPipeline {
  private readonly centerZ: Float32Array;

  private constructor(
    readonly source: BundleSource,
    readonly text: PromptEncoder,
    readonly generator: GeneratorSession,
  ) {
    const m = source.manifest;
    this.centerZ = sampleCenterLatents(m.sampling.centerCount, m.generator.config.z_dim);
  }

  static async load(ort: OrtModule, source: BundleSource, options: SessionLoadOptions = {}): Promise<AuroraPipeline> {
    const m = source.manifest;
    const [text, session] = await Promise.all([PromptEncoder.load(ort, source, options), createGraphSession(ort, source, generatorGraph(m, options), options)]);
    const generator = GeneratorSession.wrap(ort, session, { clipWidth: m.generator.config.clip_out_dim, contextLength: m.tokenizer.contextLength, zDim: m.generator.config.z_dim, numLayers: m.generator.numLayers });
    return new AuroraPipeline(source, text, generator);
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
    requests.forEach((r, i) => {
      const known = idsByPrompt.get(r.prompt);
      const ids = this.validate(known && !r.tokenIds ? { ...r, tokenIds: known } : r, i);
      if (!known) idsByPrompt.set(r.prompt, ids);
    });
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
    }));
  }
}

/** The generator graph to load: the bundle's GPU graph when asked for and present. */
function generatorGraph(m: BundleManifest, options: SessionLoadOptions): { graph: string; externalData: string | null } {
  const graph = options.generatorGraph === 'gpu' && m.generator.gpuGraph ? m.generator.gpuGraph : m.generator.graph;
  return { graph, externalData: m.generator.externalData };
}
