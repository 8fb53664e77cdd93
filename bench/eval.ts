/**
 * The eval part of `npm run bench`: `aurora eval` (every "a {colour} {shape}" prompt x seeds
 * through the serving pipeline, read back by the world's analysers) on the trained aurora-shapes
 * bundle: BENCH_EVAL_BUNDLE, else the committed models/aurora-shapes; skipped with a message
 * otherwise (a random bundle would only measure chance). BENCH_EVAL_SEEDS sets seeds per prompt
 * (default 8, as `aurora eval`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, formatEvalTable } from '../packages/model/src/eval/eval.ts';
import { pipelineGenerate } from '../packages/model/src/eval/pipeline-generate.ts';
import { readBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { loadOrtNode } from '../packages/model/src/node/ort-node.ts';
import { AuroraPipeline } from '../packages/model/src/pipeline/pipeline.ts';
import type { Results } from './report.ts';

/** Held-out seeds: colour >= 90%, shape >= 80%, held-out pairs >= 70%, and real diversity across seeds. */
export const DEFAULT_MODEL_BAR: Readonly<Record<string, number>> = {
  'eval.colour_acc': 0.9,
  'eval.shape_acc': 0.8,
  'eval.heldout_acc': 0.7,
  'eval.diversity': 0.2,
};

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function runEvalBench(): Promise<Results> {
  const dir = process.env.BENCH_EVAL_BUNDLE ?? path.join(REPO, 'models/aurora-shapes');
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) {
    console.log(`eval: skipped, no bundle at ${path.relative(process.cwd(), dir) || dir} (set BENCH_EVAL_BUNDLE to a trained bundle)`);
    return {};
  }
  const seeds = Number(process.env.BENCH_EVAL_SEEDS ?? 8);
  const source = readBundleDir(dir);
  const pipeline = await AuroraPipeline.load(await loadOrtNode(), source, { preferPaths: true });
  const t0 = performance.now();
  const report = await evaluate(pipelineGenerate(pipeline), { seeds, seedStart: 1_000_000 });
  const seconds = (performance.now() - t0) / 1e3;
  console.log(`eval of ${source.manifest.id} ${source.manifest.version}${source.manifest.trained ? '' : ' (untrained)'}:\n${formatEvalTable(report)}`);
  const results: Results = {
    'eval.colour_acc': report.colour_acc,
    'eval.shape_acc': report.shape_acc,
    'eval.heldout_acc': report.heldout_acc,
    'eval.seen_acc': report.seen_acc,
    'eval.seeds': seeds,
    'eval.seconds': seconds,
  };
  if (report.diversity !== null) results['eval.diversity'] = report.diversity;
  // The bar a trained bundle must clear to become the default model (issue 12), checked here, not in a timed test.
  const misses = Object.entries(DEFAULT_MODEL_BAR).filter(([key, min]) => !(typeof results[key] === 'number' && results[key] >= min));
  results['eval.meets_default_bar'] = misses.length === 0 ? 1 : 0;
  console.log(misses.length === 0 ? 'eval: meets the default-model bar' : `eval: below the default-model bar on ${misses.map(([k, min]) => `${k} (needs >= ${min})`).join(', ')}`);
  return results;
}
