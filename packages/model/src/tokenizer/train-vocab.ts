import { gzipSync } from 'fflate';
import { bytesToSymbols, END_OF_WORD } from './bpe.ts';
import { cleanPrompt } from './clean.ts';
import { splitWords } from './pretokenize.ts';

/**
 * Learns a byte-level BPE vocabulary in the format of CLIP's `bpe_simple_vocab_16e6.txt`
 * (a header line, then one "a b" merge per line), deterministically: the most frequent pair
 * wins, ties go to the lexicographically smallest pair. Built-in bundles use it so they need
 * no outside vocab file; any text still tokenizes, since every byte is a token.
 */
export function trainBpeMerges(corpus: readonly string[], mergeCount: number): string[] {
  const wordFreq = new Map<string, number>();
  for (const text of corpus) {
    for (const word of splitWords(cleanPrompt(text))) wordFreq.set(word, (wordFreq.get(word) ?? 0) + 1);
  }
  // Each word as its byte symbols, the last one carrying the end-of-word marker.
  const words = [...wordFreq].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([word, freq]) => {
    const symbols = [...bytesToSymbols(new TextEncoder().encode(word))];
    symbols[symbols.length - 1] += END_OF_WORD;
    return { symbols, freq };
  });
  const merges: string[] = [];
  while (merges.length < mergeCount) {
    const counts = new Map<string, number>();
    for (const { symbols, freq } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + freq);
      }
    }
    let best: string | null = null;
    let bestCount = 0;
    for (const [key, count] of counts) {
      if (count > bestCount || (count === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === null) break; // every word is a single symbol
    merges.push(best);
    const [first, second] = best.split(' ');
    for (const w of words) {
      const next: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === first && w.symbols[i + 1] === second) {
          next.push(first + second);
          i++;
        } else {
          next.push(w.symbols[i]);
        }
      }
      w.symbols = next;
    }
  }
  return merges;
}

/** The vocab file (gzipped, byte-identical on every run) for a list of merges. */
export function encodeVocabFile(merges: readonly string[], header = '#version: 0.2 (aurora-edge trained)'): Uint8Array {
  const text = `${[header, ...merges].join('\n')}\n`;
  return gzipSync(new TextEncoder().encode(text), { level: 9, mtime: 0 });
}
