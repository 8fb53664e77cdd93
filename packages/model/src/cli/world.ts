import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildWorldVocab, type WorldTokens, worldTokenTable } from '../world/vocab.ts';
import { UsageError } from './errors.ts';

const USAGE = 'usage: aurora world export --out <dir> | aurora world sample --out <dir> [--n 16] [--seed 0]';

/** JSON with one line per word, so diffs of the table stay readable. */
function formatTokens(tokens: WorldTokens): string {
  const { words, ...head } = tokens;
  const headLines = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  const wordLines = Object.entries(words).map(([w, ids]) => `    ${JSON.stringify(w)}: ${JSON.stringify(ids)}`);
  return `{\n${headLines.join('\n')}\n  "words": {\n${wordLines.join(',\n')}\n  }\n}\n`;
}

/** `aurora world export`: the vocab and word-token table the PyTorch trainer reads. */
function exportCommand(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' } } });
  if (positionals.length > 0 || values.out === undefined) throw new UsageError(USAGE);
  const vocab = buildWorldVocab();
  const tokens = worldTokenTable(vocab);
  fs.mkdirSync(values.out, { recursive: true });
  const vocabPath = path.join(values.out, 'vocab.txt.gz');
  const tokensPath = path.join(values.out, 'world-tokens.json');
  fs.writeFileSync(vocabPath, vocab.bytes);
  fs.writeFileSync(tokensPath, formatTokens(tokens));
  console.log(`wrote ${vocabPath} (${vocab.mergeCount} merges, vocab size ${vocab.vocabSize}) and ${tokensPath} (${Object.keys(tokens.words).length} words)`);
  return 0;
}

/** `aurora world <export|sample> ...` */
export async function worldCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'export') return exportCommand(rest);
  if (sub === 'sample') return (await import('./world-sample.ts')).worldSampleCommand(rest);
  throw new UsageError(USAGE);
}
