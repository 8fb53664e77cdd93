/**
 * Split cleaned text into the words BPE runs on, as the reference regex does:
 *   special tokens | English contractions | letter runs | single digits | runs of other
 *   non-space characters.
 * Digits are split one by one on purpose (CLIP's vocabulary has no multi-digit words), and
 * whitespace is never part of a word.
 */
import { PY_WHITESPACE_CLASS } from './clean.ts';

// Case-insensitive like the reference; on lower-cased input this only matters for 'ſ'
// (long s), which case-folds to 's' in both engines.
const WORD_RE = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${PY_WHITESPACE_CLASS}\\p{L}\\p{N}]+`,
  'giu',
);

export function splitWords(text: string): string[] {
  return text.match(WORD_RE) ?? [];
}
