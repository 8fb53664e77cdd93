import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { evaluate, formatEvalTable } from '../eval/eval.ts';
import { pipelineGenerate } from '../eval/pipeline-generate.ts';
import { loadOrtNode, loadOrtWasm } from '../node/ort-node.ts';
import { AuroraPipeline } from '../pipeline/pipeline.ts';
import type { OrtModule } from '../runtime/ort-types.ts';
import { allPairs } from '../world/spec.ts';
import { resolveBundle } from './bundle-arg.ts';
import { integerOption, UsageError } from './errors.ts';
import { ProgressBar } from './progress.ts';

const USAGE = 'usage: aurora eval [--bundle <dir>] [--seeds 8] [--seed-start 1000000] [--psi P] [--runtime node|wasm] [--json out.json]';
const MAX_SEEDS = 1024;

async function loadRuntime(name: string): Promise<{ ort: OrtModule; preferPaths: boolean }> {
  if (name === 'node') return { ort: await loadOrtNode(), preferPaths: true };
  return { ort: await loadOrtWasm(), preferPaths: false };
}

/**
 * `aurora eval`: every "a {colour} {shape}" prompt of the aurora-shapes world x seeds through the
 * serving pipeline (as `aurora generate` runs it), scored by the world's analysers.
 */
export async function evalCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bundle: { type: 'string' },
      seeds: { type: 'string' },
      'seed-start': { type: 'string' },
      psi: { type: 'string' },
      runtime: { type: 'string', default: 'node' },
      json: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(USAGE);
  const seeds = integerOption('seeds', values.seeds, 8, 1, MAX_SEEDS);
  const seedStart = integerOption('seed-start', values['seed-start'], 1_000_000, 0, 2 ** 32 - seeds);
  let psi: number | undefined;
  if (values.psi !== undefined) {
    psi = Number(values.psi);
    if (values.psi.trim() === '' || !(psi >= 0 && psi <= 1)) throw new UsageError(`--psi must be a number in [0, 1], got "${values.psi}"`);
  }
  if (values.runtime !== 'node' && values.runtime !== 'wasm') throw new UsageError(`--runtime must be node or wasm, got "${values.runtime}"`);
  if (values.json !== undefined && (values.json === '' || (fs.existsSync(values.json) && fs.statSync(values.json).isDirectory()))) {
    throw new UsageError(`--json ${values.json}: must be a file path`);
  }

  const source = resolveBundle(values.bundle);
  const { ort, preferPaths } = await loadRuntime(values.runtime);
  const pipeline = await AuroraPipeline.load(ort, source, { preferPaths });
  const generate = pipelineGenerate(pipeline, psi);
  const m = source.manifest;
  const bar = new ProgressBar(allPairs().length, `evaluating ${m.id}`);
  const report = await evaluate(generate, { seeds, seedStart, onPrompt: (done) => bar.update(done) });
  const json = {
    bundle: { id: m.id, version: m.version, trained: m.trained },
    runtime: values.runtime,
    psi: psi ?? m.sampling.defaultPsi,
    ...report,
  };
  console.log(formatEvalTable(report));
  if (!m.trained) console.log(`${m.id} is untrained: accuracies near chance are expected`);
  if (values.json !== undefined) {
    fs.mkdirSync(path.dirname(path.resolve(values.json)), { recursive: true });
    fs.writeFileSync(values.json, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`wrote ${values.json}`);
  }
  return 0;
}
