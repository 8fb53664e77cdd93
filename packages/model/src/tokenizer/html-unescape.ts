/**
 * The two HTML-entity decoders the CLIP text clean-up runs, reproduced rule for rule:
 *
 * - `htmlUnescape`: Python's `html.unescape` (the HTML5 character-reference rules): numeric
 *   references with or without `;`, the Windows-1252 reading of &#128;..&#159;, U+FFFD for
 *   out-of-range values, nothing for forbidden code points, and legacy names without `;`
 *   matched by longest prefix ("&ampfoo" -> "&foo").
 * - `ftfyUnescapeHtml`: ftfy's more cautious variant: only `&name;` / `&#...;` with the
 *   semicolon, plus ALL-CAPS spellings of lower-case names ("P&EACUTE;REZ" -> "PÉREZ").
 *
 * Named entities come from the compact table in html-entities.ts (see there for what is left
 * out); numeric references are handled completely.
 */
import { SLOPPY_CP1252_80_9F } from './cp1252.ts';
import { NAMED_ENTITIES, isLegacyEntity } from './html-entities.ts';

const REPLACEMENT = '\ufffd';

/** &#0;, &#13; and &#128;..&#159;: HTML reads these as Windows-1252 (or U+FFFD / CR). */
const CHARREF_OVERRIDES: ReadonlyMap<number, string> = (() => {
  const map = new Map<number, string>([
    [0x00, REPLACEMENT],
    [0x0d, '\r'],
  ]);
  for (let i = 0; i < 32; i++) map.set(0x80 + i, SLOPPY_CP1252_80_9F[i]);
  return map;
})();

/** Code points a numeric reference may not produce; Python drops them (returns ''). */
function isForbiddenCodePoint(cp: number): boolean {
  return (
    (cp >= 0x01 && cp <= 0x08) ||
    cp === 0x0b ||
    (cp >= 0x0e && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe // U+xFFFE / U+xFFFF in every plane
  );
}

function decodeNumeric(digits: string, hex: boolean): string {
  // Number() of a very long digit string is a huge float or Infinity: still > 0x10FFFF.
  const cp = hex ? parseInt(digits, 16) : Number(digits);
  const override = CHARREF_OVERRIDES.get(cp);
  if (override !== undefined) return override;
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return REPLACEMENT;
  if (isForbiddenCodePoint(cp)) return '';
  return String.fromCodePoint(cp);
}

// Same alternatives as the HTML5 tokenizer Python follows: decimal, hex, or a name of up to
// 32 characters that stops at whitespace, '<', '&', '#' or ';'.
const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

function replaceCharref(body: string): string {
  if (body[0] === '#') {
    const hex = body[1] === 'x' || body[1] === 'X';
    const digits = body.slice(hex ? 2 : 1).replace(/;$/, '');
    return decodeNumeric(digits, hex);
  }
  if (body.endsWith(';')) {
    const value = NAMED_ENTITIES.get(body.slice(0, -1));
    if (value !== undefined) return value;
  } else if (isLegacyEntity(body)) {
    return NAMED_ENTITIES.get(body)!;
  }
  // Longest legacy (semicolon-less) name that is a proper prefix, at least 2 characters.
  for (let len = body.length - 1; len > 1; len--) {
    const prefix = body.slice(0, len);
    if (isLegacyEntity(prefix)) return NAMED_ENTITIES.get(prefix)! + body.slice(len);
  }
  return `&${body}`;
}

/** Python's `html.unescape`. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF_RE, (_match, body: string) => replaceCharref(body));
}

/** `&NAME;` spellings ftfy accepts for lower-case names, when HTML itself gives them no meaning. */
const UPPERCASE_ENTITIES: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const [name, value] of NAMED_ENTITIES) {
    if (name !== name.toLowerCase()) continue;
    const upper = `&${name.toUpperCase()};`;
    if (htmlUnescape(upper) === upper) map.set(upper, value.toUpperCase());
  }
  return map;
})();

const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's `unescape_html` fixer. */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(FTFY_ENTITY_RE, (entity) => {
    if (entity[1] === '#') {
      // Only accept a reference that html.unescape consumes entirely, semicolon included.
      const decoded = htmlUnescape(entity);
      return decoded.includes(';') ? entity : decoded;
    }
    const value = NAMED_ENTITIES.get(entity.slice(1, -1));
    if (value !== undefined) return value;
    return UPPERCASE_ENTITIES.get(entity) ?? entity;
  });
}
