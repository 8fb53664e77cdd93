/**
 * CLIP's prompt clean-up, in the reference order:
 *   ftfy.fix_text -> html.unescape twice -> strip -> collapse whitespace runs to ' ' -> strip
 *   -> lower-case.
 *
 * Python and JS disagree on what "whitespace" is, and a disagreement changes token ids, so the
 * sets are spelled out: the `regex` module's \s is Unicode White_Space (includes U+0085, not
 * U+FEFF, unlike JS \s); `str.strip()` additionally strips U+001C..U+001F.
 */
import { fixText } from './ftfy.ts';
import { htmlUnescape } from './html-unescape.ts';

/** Body of a regex character class matching Python `regex`'s \s. */
export const PY_WHITESPACE_CLASS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIP_CLASS = `${PY_WHITESPACE_CLASS}\\x1c-\\x1f`;

const STRIP_CHAR_RE = new RegExp(`[${STRIP_CLASS}]`);
const WHITESPACE_RUN_RE = new RegExp(`[${PY_WHITESPACE_CLASS}]+`, 'g');

/** Python's `str.strip()` with no arguments. */
export function pyStrip(text: string): string {
  // Index loops rather than /^\s+|\s+$/, which backtracks quadratically on long inner runs.
  let start = 0;
  let end = text.length;
  while (start < end && STRIP_CHAR_RE.test(text[start])) start++;
  while (end > start && STRIP_CHAR_RE.test(text[end - 1])) end--;
  return text.slice(start, end);
}

/** Reference `basic_clean`: ftfy, two rounds of HTML unescaping, strip. */
export function basicClean(text: string): string {
  return pyStrip(htmlUnescape(htmlUnescape(fixText(text))));
}

/** Reference `whitespace_clean`: every whitespace run becomes one space; strip. */
export function whitespaceClean(text: string): string {
  return pyStrip(text.replace(WHITESPACE_RUN_RE, ' '));
}

/** The full clean-up the tokenizer applies before splitting a prompt into words. */
export function cleanPrompt(text: string): string {
  // toLowerCase, like Python's str.lower, is locale-independent and applies the full Unicode
  // mappings (e.g. final sigma, İ -> i̇).
  return whitespaceClean(basicClean(text)).toLowerCase();
}
