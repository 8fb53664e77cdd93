/**
 * Parse OpenAI's `bpe_simple_vocab_16e6.txt.gz` (gzipped or already inflated) into the merge
 * ranks and the token <-> id tables.
 *
 * The caller supplies the bytes (fetched, bundled, read from disk...) so this file stays free of
 * runtime-specific I/O and works in Node, browsers and Workers alike.
 *
 * Layout of the file: line 0 is a version header; each following line is one merge "a b".
 * CLIP uses only the first 49152 - 256 - 2 = 48894 merges so that the vocabulary is exactly
 * 256 byte symbols + 256 byte symbols with `</w>` + 48894 merged symbols + 2 special tokens
 * = 49408 ids.
 */
import { gunzipSync } from 'fflate';
import { BYTE_SYMBOL_ORDER, BYTE_TO_SYMBOL, END_OF_WORD, pairKey } from './bpe.ts';

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

/** Number of merges CLIP reads from the file (the rest of the file is unused). */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;

export interface ClipVocab {
  /** `pairKey(a, b)` -> merge priority (0 = merged first). */
  readonly ranks: ReadonlyMap<string, number>;
  /** token string (byte symbols, possibly ending in `</w>`, or a special token) -> id. */
  readonly encoder: ReadonlyMap<string, number>;
  /** id -> token string. */
  readonly decoder: readonly string[];
  readonly sotId: number;
  readonly eotId: number;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Byte offset just past the first `count` lines (or the end of the data). */
function endOfLine(bytes: Uint8Array, count: number): number {
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) return bytes.length;
    pos = nl + 1;
  }
  return pos;
}

export interface ClipVocabOptions {
  /**
   * Merges to read after the header. OpenAI's file holds far more than CLIP uses (48894, the
   * default); bundles with a vocab of their own record their count in the manifest.
   */
  readonly mergeCount?: number;
}

/** Accepts the `.gz` bytes or the decompressed UTF-8 text. */
export function parseClipVocab(bytes: Uint8Array, options: ClipVocabOptions = {}): ClipVocab {
  const mergeCount = options.mergeCount ?? CLIP_MERGE_COUNT;
  if (!Number.isInteger(mergeCount) || mergeCount < 0) throw new RangeError(`parseClipVocab: mergeCount must be a non-negative integer, got ${mergeCount}`);
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseClipVocab: bytes must be a Uint8Array, got ${typeof bytes}`);
  }
  const raw = isGzip(bytes) ? gunzipSync(bytes) : bytes;
  // The file holds ~262k merges and CLIP reads 48894: decode only the lines it uses, which
  // roughly halves start-up time (cold starts matter on Workers).
  const used = raw.subarray(0, endOfLine(raw, 1 + mergeCount));
  const lines = new TextDecoder('utf-8', { fatal: true }).decode(used).split('\n');
  const mergeLines = lines.slice(1, 1 + mergeCount);
  if (mergeLines.length < mergeCount) {
    throw new RangeError(
      `parseClipVocab: expected at least ${mergeCount} merge lines after the header, found ${mergeLines.length}; is this bpe_simple_vocab_16e6.txt(.gz)?`,
    );
  }

  const vocab: string[] = BYTE_SYMBOL_ORDER.map((b) => BYTE_TO_SYMBOL[b]);
  for (const b of BYTE_SYMBOL_ORDER) vocab.push(BYTE_TO_SYMBOL[b] + END_OF_WORD);

  // Later duplicates overwrite earlier ones, as building a dict from the lists does in the
  // reference; the official file has none, but this keeps ids identical if one ever did.
  const ranks = new Map<string, number>();
  mergeLines.forEach((line, rank) => {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) {
      throw new RangeError(`parseClipVocab: merge line ${rank + 1} should be "a b", got ${JSON.stringify(line)}`);
    }
    ranks.set(pairKey(parts[0], parts[1]), rank);
    vocab.push(parts[0] + parts[1]);
  });
  vocab.push(START_OF_TEXT, END_OF_TEXT);

  const encoder = new Map<string, number>();
  vocab.forEach((token, id) => encoder.set(token, id));
  return {
    ranks,
    encoder,
    decoder: vocab,
    sotId: encoder.get(START_OF_TEXT)!,
    eotId: encoder.get(END_OF_TEXT)!,
  };
}
