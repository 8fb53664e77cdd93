/**
 * The part of ftfy's `fix_encoding` that repairs UTF-8 text which was decoded as Latin-1 or
 * Windows-1252 ("Ã©tÃ©" -> "été", "itâ€™s" -> "it’s"), by far the most common mojibake.
 *
 * Implemented, following ftfy 6.3's order of attempts:
 * 1. Leave ASCII, and text that shows no sign of mojibake, alone.
 * 2. Re-encode the whole text as Latin-1, then as sloppy Windows-1252, and keep the first that
 *    decodes as strict UTF-8; before decoding, put back NBSP bytes that became spaces
 *    (`restore_byte_a0`) and, for Windows-1252, turn sequences cut by U+FFFD into one U+FFFD
 *    (`replace_lossy_sequences`).
 * 3. Otherwise fix each embedded mojibake run on its own (`decode_inconsistent_utf8`).
 * 4. Otherwise read C1 controls as Windows-1252 (whole text if possible, else per character).
 * Repeat until nothing changes.
 *
 * Approximated / left out:
 * - "Shows signs of mojibake" is our own test (looksLikeMojibake) instead of ftfy's large
 *   `badness` regex: a Latin-1/Windows-1252 character run that re-encodes to valid UTF-8 and
 *   is convincing (two sequences in a row, an emoji, "Ã"/"Â"- or "â"-led, or inside a word).
 *   Measured against ftfy 6.3.1 on 4000 synthetic prompts of accented words and punctuation,
 *   it never changed text ftfy keeps, while ftfy "fixed" 2% of them (e.g. "CAFÉ°" -> "cafɰ");
 *   on 3000 mojibake prompts both give the same text for ~90%, the rest being runs that one
 *   of the two leaves unrepaired.
 * - Mojibake through other code pages (Windows-1250/1251/1253/1254/1257, ISO-8859-2,
 *   MacRoman, CP437) is not undone; the text is kept as is.
 * - The "utf-8-variants" decoder (CESU-8 surrogate pairs, Java's C0 80 for NUL) is not
 *   implemented: such byte sequences count as undecodable.
 */
import {
  SLOPPY_CP1252_80_9F,
  decodeCp1252Strict,
  decodeUtf8Strict,
  encodeLatin1,
  encodeSloppyCp1252,
  fixC1Controls,
} from './cp1252.ts';

// Characters that stand for UTF-8 continuation bytes 0x80..0xBF under Latin-1 or
// Windows-1252. "Strict" leaves out the punctuation that also occurs in real text.
const CONT_STRICT = '\\x80-\\xbf\u20ac\u0192\u02c6\u2020\u2021\u2030\u0160\u2039\u0152\u017d\u2122\u0161\u203a\u0153\u017e\u0178\u02dc';
const CONT = `${CONT_STRICT}\u201a\u201e\u2026\u2018\u2019\u201c\u201d\u2022\u2013\u2014`;
// Lead bytes of 2-, 3- and 4-byte sequences, read as Latin-1 (4-byte: only F0 and F3 occur
// in practice: emoji and the tag characters).
const SEQUENCE = (cont: string): string =>
  `[\\xc2-\\xdf][${cont}]|[\\xe0-\\xef][${cont}]{2}|[\\xf0\\xf3][${cont}]{3}`;

/** One would-be UTF-8 sequence, with real continuation characters only. */
const SEQUENCE_RE = new RegExp(SEQUENCE(CONT), 'g');
/** A run of embedded mojibake; a space may stand in for a lost NBSP byte. */
const RUN_RE = new RegExp(`(?<![${CONT_STRICT}])(?:${SEQUENCE(`${CONT} `)})+`, 'g');
/** "voilÃ le": an à whose NBSP byte was turned into a space. */
const LOST_NBSP_RE = /(?:^|[a-z]\s?)[\xc2\xc3] /;
/** Punctuation that real text puts right after a letter ("JOSÉ’S", "Gruß…"). */
const TEXT_PUNCT_RE = /[\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2013\u2014\u2026]/;
/** The same, plus NBSP, soft hyphen, acute accent and middle dot. */
const COMMON_AFTER_LETTER_RE = /[\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2013\u2014\u2026\xa0\xad\xb4\xb7]/;
/**
 * Continuation characters that only Windows-1252 has and that real text does not put after a
 * letter (its letters Œœ Šš Žž Ÿ ƒ, the modifiers ˆ ˜, daggers and per mille; not € ™ ‹ ›).
 */
const CP1252_LETTER_RE = /[\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2020\u2021\u2030]/;
const LETTER_RE = /\p{L}/u;

function toBytesCharwise(text: string): string {
  let out = '';
  for (const ch of text) {
    const idx = SLOPPY_CP1252_80_9F.indexOf(ch);
    out += idx >= 0 && ch.charCodeAt(0) > 0xff ? String.fromCharCode(0x80 + idx) : ch;
  }
  return out;
}

/**
 * Would this one sequence, on its own, be convincing mojibake? Legitimate text produces such
 * sequences too (an accented capital or ç/é followed by symbols: "CAFÉ»" is C9 BB, valid
 * UTF-8), so lone sequences need extra evidence; runs of them are judged in looksLikeMojibake.
 */
function isConvincing(seq: string, next: string | undefined): boolean {
  const lead = seq[0];
  const inWord = next !== undefined && LETTER_RE.test(next);
  // "ðŸ.." (emoji), or a C1 control, which real text never contains.
  if (seq.length === 4 || /[\x80-\x9f]/.test(seq)) return true;
  // Â/Ã + symbol: Latin-1 letters and symbols ("Ã©", "Â°"); + punctuation only inside a word
  // ("Ã–l" is Öl, but "IRMÃ…" is text).
  if (lead === '\xc2' || lead === '\xc3') return inWord || !TEXT_PUNCT_RE.test(seq[1]);
  // â (E2) leads punctuation, currency and symbols ("â€™", "â‚¬"); other 3-byte leads need a
  // byte that only a Windows-1252 letter spells ("çŒ«", "æ¡œ" yes; "é§£", "á³™" no).
  if (seq.length === 3) return lead === '\xe2' || CP1252_LETTER_RE.test(seq.slice(1));
  // Other 2-byte sequences only inside a word ("Å¡koda", "Ä°stanbul"), never before the
  // punctuation that follows capitals in real text ("JOSÉ’S").
  return inWord && !COMMON_AFTER_LETTER_RE.test(seq[1]);
}

/**
 * Our stand-in for ftfy's `is_bad`: does text[start, end) contain convincing mojibake? The
 * characters after `end` still count as context ("Å¡koda" is mojibake, a lone "Å¡" is not).
 */
export function looksLikeMojibake(text: string, start = 0, end = text.length): boolean {
  if (LOST_NBSP_RE.test(text.slice(start, end))) return true;
  // exec from `start`; safe to share the regex because nothing in the loop body uses it.
  SEQUENCE_RE.lastIndex = start;
  let previousEnd = -1;
  for (let m = SEQUENCE_RE.exec(text); m !== null; m = SEQUENCE_RE.exec(text)) {
    const seqEnd = m.index + m[0].length;
    if (seqEnd > end) break;
    if (decodeUtf8Strict(toBytesCharwise(m[0])) === null) continue;
    // Two valid sequences back to back ("ÐœÐ¾", "Ã¶Ã") are convincing whatever they are.
    if (m.index === previousEnd || isConvincing(m[0], text[seqEnd])) return true;
    previousEnd = seqEnd;
  }
  return false;
}

const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;
const ALTERED_UTF8_RE =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf]{2}|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf]{2} /g;

/** Bytes: where a space breaks an otherwise valid UTF-8 sequence, it was an NBSP (0xA0). */
function restoreByteA0(bytes: string): string {
  // A lone "Ã " is usually "à " (French/Portuguese "à"), so keep the space after the à.
  const withAGrave = bytes.replace(A_GRAVE_WORD_RE, '\xc3\xa0 ');
  return withAGrave.replace(ALTERED_UTF8_RE, (m) => m.replace(/ /g, '\xa0'));
}

// 0x1A is where sloppy Windows-1252 put a U+FFFD; a UTF-8 sequence containing it (or a '?')
// lost information, so the whole sequence becomes one U+FFFD.
const LOSSY_UTF8_RE =
  /[\xc2-\xdf]\x1a|[\xc2\xc3]\?|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf]{2}|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf]{2}[\x1a?]|\x1a/g;

function replaceLossySequences(bytes: string): string {
  return bytes.replace(LOSSY_UTF8_RE, '\xef\xbf\xbd');
}

function redecodeAsUtf8(bytes: string, sloppy: boolean): string | null {
  let fixed = bytes;
  if (fixed.search(ALTERED_UTF8_RE) >= 0) fixed = restoreByteA0(fixed);
  if (sloppy) fixed = replaceLossySequences(fixed);
  return decodeUtf8Strict(fixed);
}

function decodeInconsistentUtf8(text: string): string {
  // replace() collects every match before calling back, so the recursion may reuse RUN_RE.
  return text.replace(RUN_RE, (run: string, offset: number) =>
    // Only strictly shorter runs, so the recursion always ends. The run was judged in its
    // context, so the first repair step must not judge it again without that context
    // ("Å¡" alone is not convincing, "Å¡koda" is).
    run.length < text.length && looksLikeMojibake(text, offset, offset + run.length)
      ? fixEncoding(fixEncodingStep(run, true))
      : run,
  );
}

function fixEncodingStep(text: string, alreadyJudged = false): string {
  if (!/[^\x00-\x7f]/.test(text) || !(alreadyJudged || looksLikeMojibake(text))) return text;

  const latin1 = encodeLatin1(text);
  if (latin1 !== null) {
    const decoded = redecodeAsUtf8(latin1, false);
    if (decoded !== null) return decoded;
  }
  const cp1252 = encodeSloppyCp1252(text);
  if (cp1252 !== null) {
    const decoded = redecodeAsUtf8(cp1252, true);
    if (decoded !== null) return decoded;
  }

  if (text.search(RUN_RE) >= 0) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }

  if (latin1 !== null) {
    const fixed = decodeCp1252Strict(latin1);
    if (fixed !== null && fixed !== text) return fixed;
  }
  return fixC1Controls(text);
}

/** ftfy's `fix_encoding`, restricted to Latin-1 / Windows-1252 mojibake (see file comment). */
export function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingStep(text);
    if (fixed === text) return text;
    text = fixed;
  }
}
