/**
 * Byte-level BPE core of the OpenAI CLIP tokenizer: the byte <-> printable-character table and
 * the merge loop for one pre-tokenized word.
 *
 * CLIP runs BPE over UTF-8 *bytes*, but each byte is shown as a printable character so the
 * merges file stays plain text: printable Latin-1 bytes stand for themselves, and the 68 others
 * (controls, space, NBSP, soft hyphen...) are moved to U+0100 and up, in byte order. The last
 * symbol of every word carries the `</w>` end-of-word marker, so "a" inside a word and "a" at
 * its end are different symbols.
 */

export const END_OF_WORD = '</w>';

function isPrintableLatin1(byte: number): boolean {
  // '!'..'~', '¡'..'¬' and '®'..'ÿ': bytes that are already visible, non-space characters.
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

function buildByteTables(): { encoder: string[]; order: number[] } {
  const encoder = new Array<string>(256);
  // `order` is the vocabulary order of the 256 byte symbols: printable bytes first, then the
  // shifted ones. The first 256 (and next 256, with `</w>`) token ids follow this order.
  const order: number[] = [];
  for (let b = 0; b < 256; b++) {
    if (isPrintableLatin1(b)) {
      encoder[b] = String.fromCharCode(b);
      order.push(b);
    }
  }
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (!isPrintableLatin1(b)) {
      encoder[b] = String.fromCharCode(256 + shifted++);
      order.push(b);
    }
  }
  return { encoder, order };
}

const tables = buildByteTables();

/** byte value -> its one-character symbol. */
export const BYTE_TO_SYMBOL: readonly string[] = tables.encoder;

/** The 256 byte values in the order their symbols enter the vocabulary. */
export const BYTE_SYMBOL_ORDER: readonly number[] = tables.order;

const SYMBOL_TO_BYTE: ReadonlyMap<string, number> = new Map(tables.encoder.map((s, b) => [s, b]));

/** UTF-8 bytes of a word -> the string of byte symbols BPE works on. */
export function bytesToSymbols(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += BYTE_TO_SYMBOL[b];
  return out;
}

/**
 * Byte symbols -> bytes. Characters outside the table (only possible if the caller passes
 * special-token text) are dropped, which is what decoding garbage deserves.
 */
export function symbolsToBytes(symbols: string): Uint8Array {
  const out = new Uint8Array(symbols.length);
  let n = 0;
  for (const ch of symbols) {
    const b = SYMBOL_TO_BYTE.get(ch);
    if (b !== undefined) out[n++] = b;
  }
  return out.subarray(0, n);
}

/** Key of a merge pair in the rank map. Symbols never contain a space (byte 0x20 is shifted). */
export function pairKey(first: string, second: string): string {
  return `${first} ${second}`;
}

/**
 * Apply the merges to one word (a string of byte symbols, at least one character).
 * `ranks` maps `pairKey(a, b)` to the merge's priority (lower merges first).
 *
 * Each round finds the adjacent pair with the lowest rank and merges every occurrence of it,
 * scanning left to right without overlap; it stops when no adjacent pair is a known merge or
 * the word is a single symbol. This is the reference order exactly; a different order (e.g.
 * merging only the first occurrence) yields different tokens.
 */
export function bpeWord(word: string, ranks: ReadonlyMap<string, number>): string[] {
  // Byte symbols are all in the BMP, so one UTF-16 unit is one symbol.
  let symbols: string[] = word.split('');
  symbols[symbols.length - 1] += END_OF_WORD;

  while (symbols.length > 1) {
    let bestRank = Infinity;
    let bestFirst = '';
    let bestSecond = '';
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = ranks.get(pairKey(symbols[i], symbols[i + 1]));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        bestFirst = symbols[i];
        bestSecond = symbols[i + 1];
      }
    }
    if (bestRank === Infinity) break;

    const merged: string[] = [];
    let i = 0;
    while (i < symbols.length) {
      if (i + 1 < symbols.length && symbols[i] === bestFirst && symbols[i + 1] === bestSecond) {
        merged.push(bestFirst + bestSecond);
        i += 2;
      } else {
        merged.push(symbols[i]);
        i += 1;
      }
    }
    symbols = merged;
  }
  return symbols;
}
