import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeGrid } from '../image/grid.ts';
import { encodePng } from '../image/png.ts';
import { AuroraPipeline } from '../pipeline/pipeline.ts';
import { checkPromptText } from '../pipeline/prompt-encoder.ts';
import { requestSeeds } from '../sampling/latent.ts';
import { joinNegativeValues } from './args.ts';
import { resolveBundle } from './bundle-arg.ts';
import { integerOption, UsageError } from './errors.ts';
import { ProgressBar } from './progress.ts';
import { checkRuntime, inputChecked, loadRuntime } from './runtime.ts';

const MAX_IMAGES = 1024;
/** Images per generator run: large enough to batch well on CPU, small enough for memory. */
const CHUNK = 8;

/** `aurora generate "<prompt>"`: writes out/<seed>.png for each image, and out/grid.png when n > 1. */
export async function generateCommand(args: string[]): Promise<number> {
  const options = {
    seed: { type: 'string' },
    psi: { type: 'string' },
    n: { type: 'string' },
    bundle: { type: 'string' },
    out: { type: 'string', default: 'out' },
    runtime: { type: 'string', default: 'cpu' },
  } as const;
  const { positionals, values } = parseArgs({ args: joinNegativeValues(args, options), allowPositionals: true, options });
  if (positionals.length !== 1) throw new UsageError('usage: aurora generate "<prompt>" [--seed N] [--psi P] [--n N] [--bundle <dir>] [--out <dir>] [--runtime cpu|webgpu|cuda|auto|wasm]');
  checkRuntime(values.runtime);
  // Checked before the bundle loads (a large one takes half a minute); the pipeline checks it again.
  const prompt = inputChecked(() => checkPromptText(positionals[0]));
  const seed = integerOption('seed', values.seed, 0, 0, 2 ** 32 - 1);
  const n = integerOption('n', values.n, 1, 1, MAX_IMAGES);
  let psi: number | undefined;
  if (values.psi !== undefined) {
    psi = Number(values.psi);
    if (values.psi.trim() === '' || !(psi >= 0 && psi <= 1)) throw new UsageError(`--psi must be a number in [0, 1], got "${values.psi}"`);
  }
  let seeds: number[];
  try {
    seeds = requestSeeds(seed, n);
  } catch {
    throw new UsageError(`--seed ${seed} with --n ${n} runs past 2^32-1: seeds must not wrap`);
  }

  const { ort, preferPaths, sessionOptions, generatorGraph } = await loadRuntime(values.runtime);
  const source = resolveBundle(values.bundle);
  const pipeline = await AuroraPipeline.load(ort, source, { preferPaths, sessionOptions, generatorGraph });
  inputChecked(() => pipeline.validate({ prompt, seed, psi }));

  fs.mkdirSync(values.out, { recursive: true });
  const bar = new ProgressBar(n, `generating ${source.manifest.id}`);
  const images = [];
  for (let i = 0; i < n; i += CHUNK) {
    const chunk = await pipeline.generate(seeds.slice(i, i + CHUNK).map((s) => ({ prompt, seed: s, psi })));
    for (const image of chunk) {
      fs.writeFileSync(path.join(values.out, `${image.seed}.png`), image.png);
      images.push(image);
    }
    bar.update(images.length);
  }
  const written = images.map((im) => path.join(values.out, `${im.seed}.png`));
  if (n > 1) {
    const { width, height, channels } = images[0];
    const grid = makeGrid(images.map((im) => im.pixels), width, height, channels);
    const gridPath = path.join(values.out, 'grid.png');
    fs.writeFileSync(gridPath, encodePng(grid.pixels, grid.width, grid.height, grid.channels as 1 | 3 | 4));
    written.push(gridPath);
  }
  const untrained = source.manifest.trained ? '' : ' (untrained bundle: images are noise)';
  console.log(`${source.manifest.id}: wrote ${written.join(', ')}${untrained}`);
  return 0;
}
