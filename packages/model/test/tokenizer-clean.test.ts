/**
 * Unit tests for the text clean-up in front of the CLIP tokenizer (no vocabulary needed).
 * Expected values were produced by the Python reference (ftfy 6.3.1, html, regex).
 */
import { describe, expect, it } from 'vitest';
import { bpeWord, pairKey } from '../src/tokenizer/bpe.ts';
import { cleanPrompt, pyStrip } from '../src/tokenizer/clean.ts';
import { fixText } from '../src/tokenizer/ftfy.ts';
import { ftfyUnescapeHtml, htmlUnescape } from '../src/tokenizer/html-unescape.ts';
import { splitWords } from '../src/tokenizer/pretokenize.ts';

describe('htmlUnescape (Python html.unescape)', () => {
  it.each([
    ['&amp;amp;', '&amp;'],
    ['&lt;b&gt;', '<b>'],
    ['&#39; &#x27; &#X27;', "' ' '"],
    ['&#128; &#x85;', '€ …'], // 0x80..0x9F read as Windows-1252
    ['&#0;|&#1;|&#x110000;|&#xD800;', '\ufffd||\ufffd|\ufffd'],
    ['&#65', 'A'], // numeric without semicolon
    ['&eacute &ampfoo &notit;', 'é &foo ¬it;'], // legacy names need no ';', longest prefix wins
    ['&hellip &unknownname;', '&hellip &unknownname;'],
    ['&hellip;&mdash;&TRADE;&lang;', '…—™⟨'],
  ])('%j -> %j', (input, expected) => {
    expect(htmlUnescape(input)).toBe(expected);
  });
});

describe('ftfyUnescapeHtml (ftfy unescape_html)', () => {
  it.each([
    ['P&EACUTE;REZ', 'PÉREZ'],
    ['&SZLIG;', 'SS'],
    ['&amp', '&amp'], // ftfy needs the semicolon
    ['&#65abc;', '&#65abc;'], // the whole reference must be consumed
    ['&#x41;&amp;', 'A&'],
  ])('%j -> %j', (input, expected) => {
    expect(ftfyUnescapeHtml(input)).toBe(expected);
  });
});

describe('fixText (ftfy.fix_text subset)', () => {
  it.each([
    ['mojibake Ã©tÃ© test', 'mojibake été test'],
    ['itâ€™s', "it's"], // mojibake repaired, then the curly quote straightened
    ['voilÃ  la', 'voilà la'], // NBSP byte restored
    ['Å¡koda', 'škoda'],
    ['ðŸŽ¨', '🎨'],
    ['ellipsis… and ‘curly’ “quotes”', 'ellipsis… and \'curly\' "quotes"'],
    ['ligature ﬁne ﬂow Ĳssel', 'ligature fine flow IJssel'],
    ['ＡＢＣ１２３\u3000ｶﾀｶﾅ', 'ABC123 カタカナ'],
    ['e\u0301', 'é'], // NFC
    ['\x1b[31mred\x1b[0m', 'red'],
    ['a\r\nb\u2028c', 'a\nb\nc'],
    ['\ufeffx', 'x'],
    ['a\x85b', 'a…b'],
    ['zero\u200bwidth soft\xadhyphen', 'zero\u200bwidth soft\xadhyphen'], // kept
    // Real accented text must survive untouched.
    ['JOSÉ’S', "JOSÉ'S"],
    ['«CAFÉ» Gruß… naïve', '«CAFÉ» Gruß… naïve'],
  ])('%j -> %j', (input, expected) => {
    expect(fixText(input)).toBe(expected);
  });

  it('stops decoding entities once a line contains "<"', () => {
    expect(fixText('&amp;amp;\n<b>\n&amp;amp;')).toBe('&\n<b>\n&amp;amp;');
  });
});

describe('cleanPrompt', () => {
  it('collapses Python whitespace (NBSP, tabs, newlines) and strips', () => {
    expect(cleanPrompt(' a\xa0b\tc\n ')).toBe('a b c');
    expect(cleanPrompt('<x&#x2003;&#x2003;y')).toBe('<x y');
  });

  it('keeps U+FEFF, which Python does not count as whitespace (JS \\s does)', () => {
    // With '<' present ftfy leaves the entity, and html.unescape creates the U+FEFF late.
    expect(cleanPrompt('<a&#xfeff;b')).toBe('<a\ufeffb');
  });

  it('lower-cases with full Unicode mappings', () => {
    expect(cleanPrompt('ΣΟΦΟΣ İstanbul')).toBe('σοφος i̇stanbul');
  });

  it('strips like str.strip(), including U+001C..U+001F', () => {
    expect(pyStrip('\x1c a b \x1f\x85')).toBe('a b');
  });
});

describe('splitWords', () => {
  it('splits contractions, letter runs, single digits and punctuation runs', () => {
    expect(splitWords("it's 3.14 ab12 ...!? <|endoftext|>")).toEqual([
      'it', "'s", '3', '.', '1', '4', 'ab', '1', '2', '...!?', '<|endoftext|>',
    ]);
  });
});

describe('bpeWord', () => {
  const ranks = new Map([
    [pairKey('a', 'a'), 0],
    [pairKey('a', 'b</w>'), 1],
  ]);

  it('merges every non-overlapping occurrence of the best pair, left to right', () => {
    expect(bpeWord('aaa', ranks)).toEqual(['aa', 'a</w>']);
    expect(bpeWord('aaaab', ranks)).toEqual(['aa', 'aa', 'b</w>']);
  });

  it('marks the end of the word on the last symbol', () => {
    expect(bpeWord('ab', ranks)).toEqual(['ab</w>']);
    expect(bpeWord('x', ranks)).toEqual(['x</w>']);
  });
});
