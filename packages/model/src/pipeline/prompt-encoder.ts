import { type BundleSource, readVerified } from '../bundle/bundle.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';
import { AuroraInputError } from './errors.ts';
import { createGraphSession, type SessionLoadOptions } from './sessions.ts';

export interface EncodedPrompts {
  /** [P, contextLength, width] CLIP ln_final features. */
  readonly tokens: Float32Array;
  readonly eotIndex: number[];
  readonly width: number;
  /** Token positions per prompt (the bundle's tokenizer context length). */
  readonly contextLength: number;
}

/** The bundle's tokenizer (no session needed: servers use it to check prompts before queueing). */
export async function loadBundleTokenizer(source: BundleSource): Promise<ClipTokenizer> {
  const m = source.manifest;
  return ClipTokenizer.fromVocabBytes(await readVerified(source, m.tokenizer.vocab), { mergeCount: m.tokenizer.mergeCount });
}

/**
 * A prompt must be a string with something in it: an empty or blank one would still encode (to
 * the start and end tokens alone) and give an image nobody asked for. The gateway's schema says the
 * same (`trim()` is the same test), so every front end (CLI, runner, gateway, embed) refuses it alike.
 */
export function checkPromptText(prompt: unknown, field = 'prompt'): string {
  if (typeof prompt !== 'string') throw new AuroraInputError(field, 'must be a string');
  if (prompt.trim() === '') throw new AuroraInputError(field, 'must not be empty or blank');
  return prompt;
}

/** Token ids of a prompt; a blank prompt, or one longer than the context, is an AuroraInputError naming `field` (never silently cut). */
export function promptTokenIds(tokenizer: ClipTokenizer, prompt: unknown, contextLength: number, field = 'prompt'): Int32Array {
  const text = checkPromptText(prompt, field);
  const { ids, truncated, tokenCount } = tokenizer.tokenizeWithInfo(text, contextLength);
  if (truncated) throw new AuroraInputError(field, `has ${tokenCount} tokens; the model reads at most ${contextLength} (start and end tokens included)`);
  return ids;
}

/** Prompt text -> CLIP features: the bundle's tokenizer and text-encoder graph. */
export class PromptEncoder {
  private session: Promise<InferenceSession> | null;

  private constructor(
    private readonly ort: OrtModule,
    session: InferenceSession | null,
    private readonly open: () => Promise<InferenceSession>,
    readonly tokenizer: ClipTokenizer,
    readonly width: number,
    readonly contextLength: number,
  ) {
    this.session = session ? Promise.resolve(session) : null;
  }

  /**
   * With `lazy`, the text-encoder session is created on the first encode (AuroraPipeline's case when
   * the serving graph encodes text itself: prompt interpolation is then the only user, and a paper-scale
   * text tower is not held twice until it is).
   */
  static async load(ort: OrtModule, source: BundleSource, options?: SessionLoadOptions, how: { readonly lazy?: boolean } = {}): Promise<PromptEncoder> {
    const m = source.manifest;
    const tokenizer = await loadBundleTokenizer(source);
    const open = () => createGraphSession(ort, source, m.textEncoder, options);
    const session = how.lazy ? null : await open();
    return new PromptEncoder(ort, session, open, tokenizer, m.textEncoder.config.width, m.tokenizer.contextLength);
  }

  private textSession(): Promise<InferenceSession> {
    // A failed creation is not remembered: the next encode tries again.
    this.session ??= this.open().catch((error: unknown) => {
      this.session = null;
      throw error;
    });
    return this.session;
  }

  /** Token ids of a prompt; a prompt longer than the context is an error, not silently cut. */
  tokenize(prompt: string, field = 'prompt'): Int32Array {
    return promptTokenIds(this.tokenizer, prompt, this.contextLength, field);
  }

  /** Prompts -> CLIP features (each tokenized once, here). */
  async encode(prompts: readonly string[]): Promise<EncodedPrompts> {
    return this.encodeIds(prompts.map((p) => this.tokenize(p)));
  }

  /** Token ids (from tokenize(), each `contextLength` long) -> CLIP features, with no second tokenization. */
  async encodeIds(tokenIds: readonly Int32Array[]): Promise<EncodedPrompts> {
    const L = this.contextLength;
    const ids = new BigInt64Array(tokenIds.length * L);
    tokenIds.forEach((row, i) => {
      if (row.length !== L) throw new RangeError(`token ids [${i}]: expected ${L} ids (the bundle's context length), got ${row.length}`);
      row.forEach((v, t) => (ids[i * L + t] = BigInt(v)));
    });
    const session = await this.textSession();
    const out = await session.run({ token_ids: new this.ort.Tensor('int64', ids, [tokenIds.length, L]) }, ['text_tokens', 'eot_index']);
    return {
      tokens: out.text_tokens.data as Float32Array,
      eotIndex: Array.from(out.eot_index.data as BigInt64Array, Number),
      width: this.width,
      contextLength: L,
    };
  }
}
