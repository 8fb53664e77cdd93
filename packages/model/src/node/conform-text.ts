import { CLIP_CONTEXT_LENGTH } from '../clip/context-length.ts';
import { buildClipTextFromStateDict } from '../clip/weights.ts';
import { type CheckResult, compareTensor } from '../conform/compare.ts';
import type { InferenceSession, OrtModule } from '../runtime/ort-types.ts';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';
import type { FixtureDir } from './fixture-dir.ts';
import { TENSOR_TOLERANCE } from './conform-generator.ts';
import { createGraphSessionNode } from './graph-session.ts';
import { readWeightsFile } from './read-weights.ts';

interface TokenizerCorpus {
  context_length?: number;
  cases: { prompt: string; token_ids: number[] }[];
}

/** Every corpus prompt's ids against ours; each mismatch is its own failing line. */
export function conformTokenizerCorpus(tokenizer: ClipTokenizer, corpus: TokenizerCorpus): CheckResult[] {
  const length = corpus.context_length ?? CLIP_CONTEXT_LENGTH;
  const failures: CheckResult[] = [];
  for (const [i, c] of corpus.cases.entries()) {
    const ours = Array.from(tokenizer.tokenize(c.prompt, length));
    if (ours.join() !== c.token_ids.join()) {
      failures.push({ name: `tokenizer/case ${i}`, ok: false, error: 1, tolerance: 0, detail: `${JSON.stringify(c.prompt).slice(0, 80)}: got [${ours.slice(0, 12)}…] expected [${c.token_ids.slice(0, 12)}…]` });
    }
  }
  return [{ name: 'tokenizer/corpus', ok: failures.length === 0, error: failures.length, tolerance: 0, detail: `${corpus.cases.length} prompts` }, ...failures];
}

/** The fixture prompts' token ids (inputs/token_ids) from our tokenizer. */
export function conformFixtureTokens(tokenizer: ClipTokenizer, fx: FixtureDir): CheckResult {
  const inputs = fx.json<{ prompts: string[]; context_length?: number }>('inputs.json');
  const expected = fx.ints('inputs/token_ids.i32');
  const ours = inputs.prompts.flatMap((p) => Array.from(tokenizer.tokenize(p, inputs.context_length ?? CLIP_CONTEXT_LENGTH)));
  const mismatches = ours.filter((v, i) => v !== expected[i]).length + Math.abs(ours.length - expected.length);
  return { name: 'inputs/token_ids', ok: mismatches === 0, error: mismatches, tolerance: 0, detail: `${inputs.prompts.length} prompts` };
}

/** The CLIP text tower from clip_text.pth on the fixture's token ids, against its stored features. */
export async function conformClipText(ort: OrtModule, fx: FixtureDir, sessionOptions?: InferenceSession.SessionOptions): Promise<CheckResult[]> {
  const config = fx.json<{ clip_text?: { heads?: number } }>('config.json');
  const built = buildClipTextFromStateDict(readWeightsFile(fx.file('clip_text.pth'), 'plain'), { heads: config.clip_text?.heads });
  const session = await createGraphSessionNode(ort, built.graph, { sessionOptions });
  const [n, length] = fx.shape('inputs/token_ids.i32');
  const ids = BigInt64Array.from(fx.ints('inputs/token_ids.i32'), (v) => BigInt(v));
  const out = await session.run({ token_ids: new ort.Tensor('int64', ids, [n, length]) });
  const results = [compareTensor('clip/text_tokens (inputs/clip_tokens)', fx.floats('inputs/clip_tokens.f32'), out.text_tokens.data as Float32Array, TENSOR_TOLERANCE)];
  if (fx.has('inputs/clip_pooled.f32')) results.push(compareTensor('clip/pooled (inputs/clip_pooled)', fx.floats('inputs/clip_pooled.f32'), out.pooled.data as Float32Array, TENSOR_TOLERANCE));
  const eot = Array.from(out.eot_index.data as BigInt64Array, Number);
  const expectedEot = fx.ints('inputs/eot_ind.i32');
  const eotMismatches = eot.filter((v, i) => v !== expectedEot[i]).length;
  results.push({ name: 'clip/eot_index (inputs/eot_ind)', ok: eotMismatches === 0, error: eotMismatches, tolerance: 0 });
  return results;
}
