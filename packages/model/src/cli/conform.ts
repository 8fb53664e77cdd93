import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CheckResult, formatResult } from '../conform/compare.ts';
import { conformGenerator } from '../node/conform-generator.ts';
import { conformInterpolation } from '../node/conform-interp.ts';
import { conformClipText, conformFixtureTokens, conformTokenizerCorpus } from '../node/conform-text.ts';
import { MOE_MODES, type MoeMode } from '../layers/feed-forward.ts';
import { describeProvider, generatorGraphFor, isExecutionProviderChoice, resolveExecutionProvider, sessionOptionsFor } from '../node/execution-providers.ts';
import { FixtureDir } from '../node/fixture-dir.ts';
import { loadOrtNode } from '../node/ort-node.ts';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';
import { UsageError } from './errors.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const DEFAULT_VOCAB = 'shared/clip/bpe_simple_vocab_16e6.txt.gz';

/** --vocab, else ../shared/clip/... beside the working directory or the repository, when present. */
function findVocab(explicit: string | undefined): string | null {
  if (explicit !== undefined) {
    if (!fs.existsSync(explicit)) throw new UsageError(`--vocab ${explicit}: no such file`);
    return explicit;
  }
  for (const base of [process.cwd(), REPO_ROOT]) {
    const candidate = path.resolve(base, '..', DEFAULT_VOCAB);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

const USAGE = 'usage: aurora conform <dir> [--vocab <file>] [--runtime cpu|webgpu|cuda|auto] [--moe sparse|dense|grouped]';

/**
 * `aurora conform <dir> [--vocab <file>] [--runtime cpu]`: checks our tokenizer, CLIP text encoder
 * and generator against a reference fixture folder (or a tokenizer corpus folder with prompts.json)
 * in onnxruntime-node on the given execution provider, prints one line per compared output and
 * exits 1 when any is out of tolerance.
 */
export async function conformCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { vocab: { type: 'string' }, runtime: { type: 'string', default: 'cpu' }, moe: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError(USAGE);
  // 'node' is the CLI's older name for onnxruntime-node on the CPU.
  const runtime = values.runtime === 'node' ? 'cpu' : values.runtime;
  if (!isExecutionProviderChoice(runtime)) throw new UsageError(`--runtime must be cpu, webgpu, cuda or auto, got "${values.runtime}"`);
  const moeFlag = values.moe;
  if (moeFlag !== undefined && !(MOE_MODES as readonly string[]).includes(moeFlag)) throw new UsageError(`--moe must be one of ${MOE_MODES.join(', ')}, got "${moeFlag}"`);
  const dir = path.resolve(positionals[0]);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UsageError(`${positionals[0]}: no such folder`);
  const vocabPath = findVocab(values.vocab);
  const tokenizer = vocabPath ? ClipTokenizer.fromVocabBytes(new Uint8Array(fs.readFileSync(vocabPath))) : null;

  const results: CheckResult[] = [];
  const notes: string[] = [];
  if (fs.existsSync(path.join(dir, 'prompts.json'))) {
    if (!tokenizer) throw new UsageError('a tokenizer corpus needs the CLIP vocab: pass --vocab <bpe_simple_vocab_16e6.txt.gz>');
    results.push(...conformTokenizerCorpus(tokenizer, JSON.parse(fs.readFileSync(path.join(dir, 'prompts.json'), 'utf8'))));
  } else if (fs.existsSync(path.join(dir, 'generator.pth'))) {
    const fx = new FixtureDir(dir);
    const ort = await loadOrtNode();
    const provider = await resolveExecutionProvider(ort, runtime);
    console.log(`runtime ${describeProvider(provider)}`);
    const sessionOptions = sessionOptionsFor(provider.provider);
    // By default the MoE formulation the provider runs from a bundle (generatorGraphFor); --moe checks any other.
    const moe = (moeFlag as MoeMode | undefined) ?? (generatorGraphFor(provider.provider) === 'gpu' ? 'grouped' : 'sparse');
    console.log(`moe ${moe}`);
    if (tokenizer && fx.has('inputs/token_ids.i32')) results.push(conformFixtureTokens(tokenizer, fx));
    else notes.push('tokenizer ids not checked (no vocab: pass --vocab)');
    if (fs.existsSync(fx.file('clip_text.pth')) && fx.has('inputs/clip_tokens.f32')) results.push(...(await conformClipText(ort, fx, sessionOptions)));
    results.push(...(await conformGenerator(ort, fx, undefined, { sessionOptions, moe })));
    if (fs.existsSync(fx.file('interp/manifest.json'))) results.push(...(await conformInterpolation(ort, fx, tokenizer, { sessionOptions, moe })));
  } else {
    throw new UsageError(`${positionals[0]} is neither a generator fixture (generator.pth) nor a tokenizer corpus (prompts.json)`);
  }
  for (const r of results) console.log(formatResult(r));
  for (const n of notes) console.log(`note ${n}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
