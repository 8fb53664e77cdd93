import { type BundleManifest, type BundleSource, type ClipTokenizer, loadBundleTokenizer, promptTokenIds } from '@aurora-edge/model';
import { canonicalFloat32, normalisePrompt } from '../cache/key.ts';
import { Lru } from '../cache/lru.ts';
import { EdgeError } from '../errors.ts';
import { WasmGenerator, type WasmPipeline } from './wasm.ts';

/** Prompts remembered as fitting the context, per model (at most 1000 characters each: about 1 MB at worst). */
const FITS_MEMO_SIZE = 512;

/** One servable model: a bundle, its tokenizer (for validation) and its in-process generator. */
export class ModelEntry {
  readonly wasm: WasmGenerator;
  private tokenizerPromise: Promise<ClipTokenizer> | null = null;
  /**
   * Prompts already tokenized within the context length. Whether a prompt fits is a pure function
   * of the prompt and this bundle's tokenizer, so a repeated prompt (every cache hit) skips the
   * BPE pass; one that does not fit is not remembered and fails the same way each time.
   */
  private readonly fits = new Lru<string, true>(FITS_MEMO_SIZE);

  constructor(
    readonly source: BundleSource,
    loadPipeline: (source: BundleSource) => Promise<WasmPipeline>,
  ) {
    this.wasm = new WasmGenerator(() => loadPipeline(source));
  }

  get id(): string {
    return this.source.manifest.id;
  }

  get manifest(): BundleManifest {
    return this.source.manifest;
  }

  get contentHash(): string {
    return this.source.contentHash;
  }

  /**
   * The cache-key parts of a request for this model: its size (checked: a model makes one size),
   * psi (the bundle's default when omitted; canonical float32) and the normalised prompt. Generation and lookup
   * share this, so a lookup finds exactly what a generation stored.
   */
  keyParts(input: { readonly prompt: string; readonly psi?: number; readonly size?: string }): { size: string; psi: number; prompt: string } {
    const size = input.size ?? this.size;
    if (size !== this.size) throw EdgeError.badRequest('size', `${this.id} makes "${this.size}" images, got "${size}"`);
    // psi as the float32 the generator reads: requests that differ only below float32 precision are one image.
    return { size, psi: canonicalFloat32(input.psi ?? this.manifest.sampling.defaultPsi), prompt: normalisePrompt(input.prompt) };
  }

  /** "<w>x<h>": the only size this model makes. */
  get size(): string {
    return `${this.manifest.resolution}x${this.manifest.resolution}`;
  }

  tokenizer(): Promise<ClipTokenizer> {
    this.tokenizerPromise ??= loadBundleTokenizer(this.source).catch((error) => {
      this.tokenizerPromise = null;
      throw error;
    });
    return this.tokenizerPromise;
  }

  /** Throws a 400 naming `field` (default `prompt`) when the prompt has more tokens than the model reads. */
  async checkPrompt(prompt: string, field = 'prompt'): Promise<void> {
    if (this.fits.get(prompt)) return;
    promptTokenIds(await this.tokenizer(), prompt, this.manifest.tokenizer.contextLength, field);
    this.fits.set(prompt, true);
  }
}

/** The models this gateway serves, by bundle id; the first is the default. */
export class ModelRegistry {
  private readonly byId = new Map<string, ModelEntry>();

  constructor(entries: readonly ModelEntry[]) {
    if (entries.length === 0) throw new RangeError('ModelRegistry needs at least one model');
    for (const e of entries) this.byId.set(e.id, e);
  }

  get default(): ModelEntry {
    return this.byId.values().next().value!;
  }

  get all(): ModelEntry[] {
    return [...this.byId.values()];
  }

  /** The model for a request's `model` field (the default when omitted); 400 naming `model` if unknown. */
  resolve(id: string | undefined, field = 'model'): ModelEntry {
    if (id === undefined) return this.default;
    const entry = this.byId.get(id);
    if (!entry) throw EdgeError.badRequest(field, `unknown model "${id}"; available: ${[...this.byId.keys()].join(', ')}`);
    return entry;
  }
}
