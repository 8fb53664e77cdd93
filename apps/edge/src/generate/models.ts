import { type BundleManifest, type BundleSource, type ClipTokenizer, loadBundleTokenizer, promptTokenIds } from '@aurora-edge/model';
import { canonicalFloat32, normalisePrompt } from '../cache/key.ts';
import { Lru } from '../cache/lru.ts';
import { EdgeError } from '../errors.ts';
import { WasmGenerator, type WasmPipeline } from './wasm.ts';

/** Prompts' token ids remembered per model (77 int32 each: about 160 KB at most). */
const FITS_MEMO_SIZE = 512;

/** One servable model: a bundle, its tokenizer (for validation) and its in-process generator. */
export class ModelEntry {
  readonly wasm: WasmGenerator;
  private tokenizerPromise: Promise<ClipTokenizer> | null = null;
  /**
   * Token ids of prompts already tokenized within the context length. They are a pure function of
   * the prompt and this bundle's tokenizer, so a repeated prompt (every cache hit) skips the BPE
   * pass, and a miss hands them to the in-process generator, which encodes them as they are; one
   * that does not fit is not remembered and fails the same way each time.
   */
  private readonly ids = new Lru<string, Int32Array>(FITS_MEMO_SIZE);

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
   * The cache-key fields of a request for this model: its size (checked: a model makes one size),
   * psi (the bundle's default when omitted; canonical float32) and the normalised prompt. Generation and lookup
   * share this, so a lookup finds exactly what a generation stored.
   */
  cacheKeyFields(input: { readonly prompt: string; readonly psi?: number; readonly size?: string }): { size: string; psi: number; prompt: string } {
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

  /**
   * The prompt's token ids; a 400 naming `field` (default `prompt`) when it has more tokens than the
   * model reads. The one tokenization of a prompt in this process: generators take these ids.
   */
  async checkPrompt(prompt: string, field = 'prompt'): Promise<Int32Array> {
    const known = this.ids.get(prompt);
    if (known) return known;
    const ids = promptTokenIds(await this.tokenizer(), prompt, this.manifest.tokenizer.contextLength, field);
    this.ids.set(prompt, ids);
    return ids;
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
