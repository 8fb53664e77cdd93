/**
 * The subset of `ftfy.fix_text` (ftfy 6.3, default settings) that CLIP's text clean-up relies
 * on. ftfy has no JavaScript port, and token ids must match the Python reference, so each step
 * below reproduces the corresponding ftfy fixer.
 *
 * Implemented exactly:
 * - line-by-line processing, and the `unescape_html='auto'` rule: HTML entities are decoded
 *   until a line containing '<' is seen (from then on the input is taken to be real HTML);
 * - the fix-until-stable loop per line, in ftfy's order: unescape_html, fix_encoding,
 *   fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes,
 *   fix_line_breaks, fix_surrogates, remove_terminal_escapes, remove_control_chars, NFC.
 *
 * Approximated (see the files named):
 * - unescape_html: named entities from a compact table (html-entities.ts);
 * - fix_encoding: Latin-1/Windows-1252 mojibake only, with our own detection (mojibake.ts);
 * - ftfy's split of lines longer than 1,000,000 characters is not reproduced;
 * - NFC/NFKC come from the JS engine's Unicode tables, which may be newer than Python's.
 */
import { fixC1Controls } from './cp1252.ts';
import { ftfyUnescapeHtml } from './html-unescape.ts';
import { fixEncoding } from './mojibake.ts';

/** Latin ligatures that are usually copy-paste accidents (other scripts' ligatures are kept). */
const LIGATURES: ReadonlyMap<string, string> = new Map([
  ['\u0132', 'IJ'], ['\u0133', 'ij'], ['\u0149', '\u02bcn'],
  ['\u01c4', 'D\u017d'], ['\u01c5', 'D\u017e'], ['\u01c6', 'd\u017e'],
  ['\u01c7', 'LJ'], ['\u01c8', 'Lj'], ['\u01c9', 'lj'],
  ['\u01ca', 'NJ'], ['\u01cb', 'Nj'], ['\u01cc', 'nj'],
  ['\u01f1', 'DZ'], ['\u01f2', 'Dz'], ['\u01f3', 'dz'],
  ['\ufb00', 'ff'], ['\ufb01', 'fi'], ['\ufb02', 'fl'], ['\ufb03', 'ffi'], ['\ufb04', 'ffl'],
  ['\ufb05', '\u017ft'], ['\ufb06', 'st'],
]);
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

/** Fullwidth ASCII and halfwidth katakana/Hangul -> normal width; ideographic space -> ' '. */
const WIDTH_MAP: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>([['\u3000', ' ']]);
  for (let cp = 0xff01; cp < 0xfff0; cp++) {
    const ch = String.fromCharCode(cp);
    const plain = ch.normalize('NFKC');
    if (plain !== ch) map.set(ch, plain);
  }
  return map;
})();
const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

// Python's \d in a str pattern is any Unicode decimal digit.
const TERMINAL_ESCAPE_RE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;
// C0 controls other than \t \n \f \r, DEL, deprecated Arabic format controls, BOM and
// interlinear annotation / object replacement characters.
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
// With the u flag a surrogate only matches when it is unpaired.
const LONE_SURROGATE_RE = /[\ud800-\udfff]/gu;

function fixSegmentOnce(text: string, unescapeHtml: boolean): string {
  if (unescapeHtml) text = ftfyUnescapeHtml(text);
  text = fixEncoding(text);
  text = fixC1Controls(text);
  text = text.replace(LIGATURE_RE, (c) => LIGATURES.get(c) ?? c);
  text = text.replace(WIDTH_RE, (c) => WIDTH_MAP.get(c) ?? c);
  text = text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
  text = text.replace(/\r\n?|[\u2028\u2029\x85]/g, '\n');
  text = text.replace(LONE_SURROGATE_RE, '\ufffd');
  text = text.replace(TERMINAL_ESCAPE_RE, '');
  text = text.replace(CONTROL_RE, '');
  return text.normalize('NFC');
}

function fixSegment(text: string, unescapeHtml: boolean): string {
  for (;;) {
    const fixed = fixSegmentOnce(text, unescapeHtml);
    if (fixed === text) return text;
    text = fixed;
  }
}

/** `ftfy.fix_text(text)` with default settings, within the limits described above. */
export function fixText(text: string): string {
  let unescapeHtml = true;
  let out = '';
  let pos = 0;
  while (pos < text.length) {
    const newline = text.indexOf('\n', pos);
    const end = newline < 0 ? text.length : newline + 1;
    const segment = text.slice(pos, end);
    if (segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
}
