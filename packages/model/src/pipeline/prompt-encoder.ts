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
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
    readonly tokenizer: ClipTokenizer,
    readonly width: number,
    readonly contextLength: number,
  ) {}

  static async load(ort: OrtModule, source: BundleSource, options?: SessionLoadOptions): Promise<PromptEncoder> {
    const m = source.manifest;
    const tokenizer = await loadBundleTokenizer(source);
    const session = await createGraphSession(ort, source, m.textEncoder, options);
    return new PromptEncoder(ort, session, tokenizer, m.textEncoder.config.width, m.tokenizer.contextLength);
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
    const out = await this.session.run({ token_ids: new this.ort.Tensor('int64', ids, [tokenIds.length, L]) }, ['text_tokens', 'eot_index']);
    return {
      tokens: out.text_tokens.data as Float32Array,
      eotIndex: Array.from(out.eot_index.data as BigInt64Array, Number),
      width: this.width,
      contextLength: L,
    };
  }
}
