/**
 * The BPE vocab an aurora-shapes bundle carries, learned by our tokenizer tools from the world's
 * captions plus the built-in PROMPT_CORPUS, and the per-word token table the trainer composes
 * caption ids from (CLIP's BPE never merges across words, so a caption's ids are its words' ids
 * concatenated).
 */
import { ClipTokenizer, DEFAULT_CONTEXT_LENGTH } from '../tokenizer/clip-tokenizer.ts';
import { PROMPT_CORPUS } from '../tokenizer/corpus.ts';
import { encodeVocabFile, trainBpeMerges } from '../tokenizer/train-vocab.ts';
import { worldCaptionCorpus, worldWords } from './captions.ts';

/** Enough for every world word and most corpus words to become one token. */
export const WORLD_MERGE_CAP = 2048;

export interface WorldVocab {
  /** vocab.txt.gz bytes (byte-identical on every run). */
  readonly bytes: Uint8Array;
  readonly mergeCount: number;
  /** 256 byte tokens + 256 end-of-word byte tokens + merges + SOT + EOT. */
  readonly vocabSize: number;
  readonly tokenizer: ClipTokenizer;
}

export function buildWorldVocab(): WorldVocab {
  const merges = trainBpeMerges([...worldCaptionCorpus(), ...PROMPT_CORPUS], WORLD_MERGE_CAP);
  const bytes = encodeVocabFile(merges, '#version: 0.2 (aurora-edge trained: aurora-shapes world + prompt corpus)');
  const tokenizer = ClipTokenizer.fromVocabBytes(bytes, { mergeCount: merges.length });
  return { bytes, mergeCount: merges.length, vocabSize: 512 + merges.length + 2, tokenizer };
}

export interface WorldTokens {
  readonly contextLength: number;
  readonly sot: number;
  readonly eot: number;
  readonly vocabSize: number;
  readonly mergeCount: number;
  readonly words: Readonly<Record<string, readonly number[]>>;
}

/** The word -> ids table of every caption word; throws unless each is a single token. */
export function worldTokenTable(vocab: WorldVocab): WorldTokens {
  const words: Record<string, number[]> = {};
  for (const word of worldWords()) {
    const ids = vocab.tokenizer.encode(word);
    if (ids.length !== 1) throw new Error(`world word "${word}" is ${ids.length} tokens in the world vocab; raise WORLD_MERGE_CAP`);
    words[word] = ids;
  }
  return {
    contextLength: DEFAULT_CONTEXT_LENGTH,
    sot: vocab.tokenizer.sotId,
    eot: vocab.tokenizer.eotId,
    vocabSize: vocab.vocabSize,
    mergeCount: vocab.mergeCount,
    words,
  };
}
