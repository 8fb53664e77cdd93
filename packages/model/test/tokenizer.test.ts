/**
 * ClipTokenizer against the reference token ids: the official vocabulary from the shared fixtures
 * folder (../shared/clip, next to the repository; not committed) and the reference corpus committed
 * in fixtures/tokenizer/prompts.json. Without the vocabulary these tests are reported skipped and
 * shared-fixtures.test.ts fails (unless AURORA_ALLOW_NO_SHARED=1).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../src/tokenizer/index.ts';
import { CLIP_VOCAB, SHARED_DIR, TOKENIZER_CORPUS_DIR } from './support/reference.ts';

const vocabPath = CLIP_VOCAB;
const corpusPath = path.join(TOKENIZER_CORPUS_DIR, 'prompts.json');
const sharedCorpusPath = path.join(SHARED_DIR, 'reference/tokenizer/prompts.json');
const haveVocab = existsSync(vocabPath);
if (!haveVocab) console.warn(`tokenizer.test.ts: the vocabulary tests are skipped, ${vocabPath} not found`);

interface Corpus {
  vocab: string;
  context_length: number;
  cases: { prompt: string; token_ids: number[] }[];
}

const SOT = 49406;
const EOT = 49407;

describe('the committed tokenizer corpus', () => {
  const corpus = JSON.parse(readFileSync(corpusPath, 'utf8')) as Corpus;

  it('frames every reference row as SOT, ids, EOT, zeros, 77 long', () => {
    expect(corpus.cases).toHaveLength(250);
    for (const { prompt, token_ids } of corpus.cases) {
      expect(token_ids, prompt).toHaveLength(77);
      expect(token_ids[0], prompt).toBe(SOT);
      const eot = token_ids.indexOf(EOT);
      expect(eot, prompt).toBeGreaterThan(0);
      expect(token_ids.slice(eot + 1).every((id) => id === 0) || eot === 76, prompt).toBe(true);
    }
  });

  it.skipIf(!existsSync(sharedCorpusPath))('is byte-identical to ../shared/reference/tokenizer/prompts.json', () => {
    expect(readFileSync(corpusPath).equals(readFileSync(sharedCorpusPath))).toBe(true);
  });
});

describe.skipIf(!haveVocab)('ClipTokenizer (needs the CLIP vocabulary in ../shared/clip)', () => {
  let tok: ClipTokenizer;
  let corpus: Corpus;
  let vocabGz: Uint8Array;

  beforeAll(() => {
    vocabGz = new Uint8Array(readFileSync(vocabPath));
    tok = ClipTokenizer.fromVocabBytes(vocabGz);
    corpus = JSON.parse(readFileSync(corpusPath, 'utf8')) as Corpus;
  });

  it('loads the official vocabulary', () => {
    expect(tok.vocabSize).toBe(49408);
    expect([tok.sotId, tok.eotId]).toEqual([SOT, EOT]);
  });

  it('reproduces the reference ids for every corpus prompt', () => {
    expect(corpus.vocab).toBe('bpe_simple_vocab_16e6.txt.gz');
    expect(corpus.context_length).toBe(77);
    expect(corpus.cases.length).toBeGreaterThan(0);
    const mismatches = corpus.cases
      .map(({ prompt, token_ids }) => ({ prompt, got: Array.from(tok.tokenize(prompt, corpus.context_length)), want: token_ids }))
      .filter(({ got, want }) => got.length !== want.length || got.some((id, i) => id !== want[i]))
      .map(({ prompt, got, want }) => ({ prompt, got: got.filter((id) => id !== 0), want: want.filter((id) => id !== 0) }));
    expect(mismatches, `${mismatches.length} of ${corpus.cases.length} prompts differ`).toEqual([]);
  });

  it('accepts the decompressed vocabulary text as well as the .gz', () => {
    const fromText = ClipTokenizer.fromVocabBytes(gunzipSync(vocabGz));
    const prompt = 'Café au lait, 🎨 東京の夜景';
    expect(fromText.tokenize(prompt)).toEqual(tok.tokenize(prompt));
  });

  it('frames an empty prompt as SOT, EOT, zeros', () => {
    for (const prompt of ['', '   ', '\n\t']) {
      const info = tok.tokenizeWithInfo(prompt);
      expect(info.ids.length).toBe(77);
      expect(Array.from(info.ids.subarray(0, 3))).toEqual([SOT, EOT, 0]);
      expect(info.ids.subarray(2).every((id) => id === 0)).toBe(true);
      expect(info).toMatchObject({ truncated: false, tokenCount: 2 });
      expect(tok.eotIndex(info.ids)).toBe(1);
      expect(tok.encode(prompt)).toEqual([]);
    }
  });

  it('cuts over-long prompts to 77 tokens and keeps EOT last', () => {
    const prompt = 'a photo of a cat on a table '.repeat(20);
    const body = tok.encode(prompt);
    const info = tok.tokenizeWithInfo(prompt);
    expect(info.truncated).toBe(true);
    expect(info.tokenCount).toBe(body.length + 2);
    expect(info.ids.length).toBe(77);
    expect(info.ids[0]).toBe(SOT);
    expect(Array.from(info.ids.subarray(1, 76))).toEqual(body.slice(0, 75));
    expect(info.ids[76]).toBe(EOT);
    expect(tok.eotIndex(info.ids)).toBe(76);
  });

  it('truncates exactly at the boundary: 75 words fit, 76 do not', () => {
    const fits = tok.tokenizeWithInfo('a '.repeat(75));
    expect(fits).toMatchObject({ truncated: false, tokenCount: 77 });
    expect(fits.ids[76]).toBe(EOT);
    const over = tok.tokenizeWithInfo('a '.repeat(76));
    expect(over).toMatchObject({ truncated: true, tokenCount: 78 });
    expect(over.ids[76]).toBe(EOT);
  });

  it('supports other context lengths and rejects invalid ones', () => {
    const ids = tok.tokenize('a red apple on a table', 5);
    expect(ids.length).toBe(5);
    expect(ids[4]).toBe(EOT);
    expect(() => tok.tokenize('x', 0)).toThrow(RangeError);
    expect(() => tok.tokenize('x', 2.5)).toThrow(RangeError);
  });

  it('tokenizes batches row by row', () => {
    const texts = ['a cat', '', 'two dogs at night'];
    const batch = tok.tokenizeBatch(texts);
    expect(batch.length).toBe(3 * 77);
    texts.forEach((t, row) => expect(batch.subarray(row * 77, (row + 1) * 77)).toEqual(tok.tokenize(t)));
  });

  it('turns literal special-token text into the special ids, like the reference', () => {
    const ids = Array.from(tok.tokenize('a <|endoftext|> b')).filter((id) => id !== 0);
    expect(ids).toEqual([SOT, 320, EOT, 321, EOT]);
    expect(tok.eotIndex(tok.tokenize('a <|endoftext|> b'))).toBe(2); // argmax: first EOT
  });

  it('round-trips plain text through decode(encode(x))', () => {
    for (const text of ['a photo of a cat', 'The Eiffel Tower at Night', 'hummingbird', '東京の夜景 café']) {
      expect(tok.decode(tok.encode(text))).toBe(`${text.toLowerCase()} `);
    }
  });

  it('decodes special tokens and rejects unknown ids', () => {
    expect(tok.decode([SOT, 320, EOT])).toBe('<|startoftext|>a <|endoftext|>');
    expect(() => tok.decode([49408])).toThrow(RangeError);
  });
});
