import { AuroraInputError, type AuroraPipeline, type BundleManifest, type BundleSource, ClipTokenizer, readVerified } from '@aurora-edge/model';
import { EdgeError } from '../errors.ts';
import { WasmGenerator } from './wasm.ts';

/** One servable model: a bundle, its tokenizer (for validation) and its in-process generator. */
export class ModelEntry {
  readonly wasm: WasmGenerator;
  private tokenizerPromise: Promise<ClipTokenizer> | null = null;

  constructor(
    readonly source: BundleSource,
    loadPipeline: (source: BundleSource) => Promise<AuroraPipeline>,
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

  /** "<w>x<h>": the only size this model makes. */
  get size(): string {
    return `${this.manifest.resolution}x${this.manifest.resolution}`;
  }

  tokenizer(): Promise<ClipTokenizer> {
    this.tokenizerPromise ??= readVerified(this.source, this.manifest.tokenizer.vocab)
      .then((bytes) => ClipTokenizer.fromVocabBytes(bytes, { mergeCount: this.manifest.tokenizer.mergeCount }))
      .catch((error) => {
        this.tokenizerPromise = null;
        throw error;
      });
    return this.tokenizerPromise;
  }

  /** Throws a 400 naming `prompt` when the prompt has more tokens than the model reads. */
  async checkPrompt(prompt: string): Promise<void> {
    const limit = this.manifest.tokenizer.contextLength;
    const { truncated, tokenCount } = (await this.tokenizer()).tokenizeWithInfo(prompt, limit);
    if (truncated) throw new AuroraInputError('prompt', `has ${tokenCount} tokens; the model reads at most ${limit} (start and end tokens included)`);
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
