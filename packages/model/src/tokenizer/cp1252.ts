/**
 * Single-byte encodings needed to undo mojibake: Latin-1 and "sloppy" Windows-1252 (ftfy's
 * name for Windows-1252 where the five unassigned bytes 0x81 0x8D 0x8F 0x90 0x9D pass through
 * as the C1 controls of the same number, and byte 0x1A stands for U+FFFD).
 *
 * Byte strings are "binary strings" (one char per byte, 0..255): JS regexes can then run on
 * them directly, which the byte-level repairs in mojibake.ts need.
 */

/** What bytes 0x80..0x9F mean in sloppy Windows-1252. */
export const SLOPPY_CP1252_80_9F =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

const CP1252_UNASSIGNED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

const SLOPPY_ENCODE: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  for (let i = 0; i < 32; i++) map.set(SLOPPY_CP1252_80_9F[i], 0x80 + i);
  map.set('\ufffd', 0x1a);
  return map;
})();

/** Text -> Latin-1 binary string, or null if some character is above U+00FF. */
export function encodeLatin1(text: string): string | null {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return null;
  return text;
}

/** Text -> sloppy Windows-1252 binary string, or null if some character has no byte. */
export function encodeSloppyCp1252(text: string): string | null {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    const mapped = SLOPPY_ENCODE.get(ch);
    if (mapped !== undefined) out += String.fromCharCode(mapped);
    // 0x1A is taken by U+FFFD, and C1 controls other than the five pass-through ones have
    // printable meanings in this code page, so neither can be encoded as themselves.
    else if (ch.length === 1 && code !== 0x1a && (code < 0x80 || code >= 0xa0) && code <= 0xff) out += ch;
    else return null;
  }
  return out;
}

/** Latin-1 bytes read as strict Windows-1252; null if an unassigned byte occurs. */
export function decodeCp1252Strict(binary: string): string | null {
  let out = '';
  for (let i = 0; i < binary.length; i++) {
    const b = binary.charCodeAt(i);
    if (b >= 0x80 && b <= 0x9f) {
      if (CP1252_UNASSIGNED.has(b)) return null;
      out += SLOPPY_CP1252_80_9F[b - 0x80];
    } else {
      out += binary[i];
    }
  }
  return out;
}

/** Each C1 control character -> its sloppy Windows-1252 meaning (ftfy's fix_c1_controls). */
export function fixC1Controls(text: string): string {
  return text.replace(/[\x80-\x9f]/g, (c) => SLOPPY_CP1252_80_9F[c.charCodeAt(0) - 0x80]);
}

// ignoreBOM: keep a leading U+FEFF as text, as Python's utf-8 codec does.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Binary string -> text if it is valid UTF-8, else null. */
export function decodeUtf8Strict(binary: string): string | null {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
