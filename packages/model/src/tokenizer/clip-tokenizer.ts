/**
 * OpenAI CLIP's BPE tokenizer, producing the same ids as the reference Python
 * (`SimpleTokenizer` + `CLIPModel.tokenize`): clean the prompt (clean.ts), split it into words
 * (pretokenize.ts), BPE each word's UTF-8 bytes (bpe.ts), then frame the ids as
 * [SOT, ...ids, EOT, 0, 0, ...] in a fixed context (77 for every CLIP model).
 *
 * Runtime-neutral: the vocabulary comes in as bytes; nothing here touches files or the network.
 */
import { CLIP_CONTEXT_LENGTH } from '../clip/context-length.ts';
import { bpeWord, bytesToSymbols, END_OF_WORD, symbolsToBytes } from './bpe.ts';
import { cleanPrompt } from './clean.ts';
import { splitWords } from './pretokenize.ts';
import { END_OF_TEXT, START_OF_TEXT, parseClipVocab, type ClipVocab, type ClipVocabOptions } from './vocab.ts';

export const DEFAULT_CONTEXT_LENGTH = CLIP_CONTEXT_LENGTH;

/** Words cached before the cache is reset: bounds memory in long-lived workers. */
const WORD_CACHE_LIMIT = 50_000;

export interface TokenizeResult {
  /** [SOT, ...tokens, EOT] padded with 0 (or cut, keeping EOT last) to the context length. */
  readonly ids: Int32Array;
  /** True when the prompt did not fit and was cut. */
  readonly truncated: boolean;
  /** Tokens the full prompt needs, SOT and EOT included (> context length iff truncated). */
  readonly tokenCount: number;
}

function checkContextLength(contextLength: number): void {
  if (!Number.isInteger(contextLength) || contextLength < 1) {
    throw new RangeError(`contextLength must be a positive integer, got ${contextLength}`);
  }
}

export class ClipTokenizer {
  readonly sotId: number;
  readonly eotId: number;
  private readonly vocab: ClipVocab;
  private readonly textEncoder = new TextEncoder();
  private readonly wordCache = new Map<string, readonly number[]>();

  private constructor(vocab: ClipVocab) {
    this.vocab = vocab;
    this.sotId = vocab.sotId;
    this.eotId = vocab.eotId;
  }

  /** Build from `bpe_simple_vocab_16e6.txt.gz` (or a bundle's own vocab), gzipped or already inflated. */
  static fromVocabBytes(bytes: Uint8Array, options?: ClipVocabOptions): ClipTokenizer {
    return new ClipTokenizer(parseClipVocab(bytes, options));
  }

  /** Number of token ids (49408 for the official vocabulary). */
  get vocabSize(): number {
    return this.vocab.decoder.length;
  }

  /** Token ids of the cleaned prompt, without SOT/EOT and without length limit. */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
    const ids: number[] = [];
    for (const word of splitWords(cleanPrompt(text))) {
      for (const id of this.wordIds(word)) ids.push(id);
    }
    return ids;
  }

  /** `CLIPModel.tokenize` for one prompt: padded to, or cut at, `contextLength`. */
  tokenize(text: string, contextLength: number = DEFAULT_CONTEXT_LENGTH): Int32Array {
    return this.tokenizeWithInfo(text, contextLength).ids;
  }

  /** Like `tokenize`, and also says whether the prompt was cut. */
  tokenizeWithInfo(text: string, contextLength: number = DEFAULT_CONTEXT_LENGTH): TokenizeResult {
    checkContextLength(contextLength);
    const body = this.encode(text);
    const tokenCount = body.length + 2;
    const ids = new Int32Array(contextLength);
    ids[0] = this.sotId;
    const kept = Math.min(body.length, contextLength - 1);
    for (let i = 0; i < kept; i++) ids[i + 1] = body[i];
    // When cut, the last slot is forced to EOT so the text tower still sees an end marker.
    ids[Math.min(tokenCount, contextLength) - 1] = this.eotId;
    return { ids, truncated: tokenCount > contextLength, tokenCount };
  }

  /** Several prompts as one row-major [texts.length, contextLength] array. */
  tokenizeBatch(texts: readonly string[], contextLength: number = DEFAULT_CONTEXT_LENGTH): Int32Array {
    checkContextLength(contextLength);
    const out = new Int32Array(texts.length * contextLength);
    texts.forEach((text, row) => out.set(this.tokenize(text, contextLength), row * contextLength));
    return out;
  }

  /**
   * Position the text tower pools at: the reference's `argmax(tokens)`, i.e. the first EOT,
   * since EOT is the largest id.
   */
  eotIndex(ids: ArrayLike<number>): number {
    let best = 0;
    for (let i = 1; i < ids.length; i++) if (ids[i] > ids[best]) best = i;
    return best;
  }

  /** Text for debugging: words end in a space; undecodable bytes become U+FFFD. */
  decode(ids: Iterable<number>): string {
    let symbols = '';
    for (const id of ids) {
      const token = this.vocab.decoder[id];
      if (token === undefined) throw new RangeError(`decode: ${id} is not a token id (0..${this.vocabSize - 1})`);
      symbols += token;
    }
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(symbolsToBytes(symbols));
    return text.replaceAll(END_OF_WORD, ' ');
  }

  private wordIds(word: string): readonly number[] {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) return cached;

    let ids: number[];
    if (word === START_OF_TEXT || word === END_OF_TEXT) {
      // Typed literally in a prompt, these become the special tokens, as in the reference.
      ids = [this.vocab.encoder.get(word)!];
    } else {
      const symbols = bpeWord(bytesToSymbols(this.textEncoder.encode(word)), this.vocab.ranks);
      ids = symbols.map((symbol) => {
        const id = this.vocab.encoder.get(symbol);
        if (id === undefined) throw new Error(`BPE produced ${JSON.stringify(symbol)}, which the vocabulary lacks`);
        return id;
      });
    }
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, ids);
    return ids;
  }
}
