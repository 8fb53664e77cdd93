import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeApng } from '../image/apng.ts';
import { makeGrid } from '../image/grid.ts';
import { encodePng } from '../image/png.ts';
import { AuroraInterpolator, MAX_CENTER_COUNT, MAX_INTERPOLATION_STEPS } from '../pipeline/interpolation.ts';
import { AuroraPipeline } from '../pipeline/pipeline.ts';
import { checkPromptText } from '../pipeline/prompt-encoder.ts';
import { joinNegativeValues } from './args.ts';
import { resolveBundle } from './bundle-arg.ts';
import { integerOption, UsageError } from './errors.ts';
import { checkRuntime, inputChecked, loadRuntime } from './runtime.ts';

const USAGE =
  'usage: aurora interpolate "<from>" "<to>" [--steps 9] [--seed 0] [--psi P] [--global] [--loop-mapping N] [--trunc-layers N] [--delay-ms 120] [--bundle <dir>] [--out out/] [--runtime cpu|webgpu|cuda|auto|wasm]';

/**
 * `aurora interpolate "<from>" "<to>"`: one prompt turning into another as the reference
 * run_interpolate.py does it (one latent, the text codes blended over the frames). Writes
 * out/000.png ... (one per frame), out/strip.png (the frames in a row) and out/anim.png (an
 * animated PNG that loops).
 */
export async function interpolateCommand(args: string[]): Promise<number> {
  const options = {
    steps: { type: 'string' },
    seed: { type: 'string' },
    psi: { type: 'string' },
    global: { type: 'boolean', default: false },
    'loop-mapping': { type: 'string' },
    'trunc-layers': { type: 'string' },
    'delay-ms': { type: 'string' },
    bundle: { type: 'string' },
    out: { type: 'string', default: 'out' },
    runtime: { type: 'string', default: 'cpu' },
  } as const;
  const { positionals, values } = parseArgs({ args: joinNegativeValues(args, options), allowPositionals: true, options });
  if (positionals.length !== 2) throw new UsageError(USAGE);
  checkRuntime(values.runtime);
  // Everything is checked before the bundle loads (a large one takes half a minute).
  const from = inputChecked(() => checkPromptText(positionals[0], 'from'));
  const to = inputChecked(() => checkPromptText(positionals[1], 'to'));
  const steps = integerOption('steps', values.steps, 9, 2, MAX_INTERPOLATION_STEPS);
  const seed = integerOption('seed', values.seed, 0, 0, 2 ** 32 - 1);
  const centerCount = integerOption('loop-mapping', values['loop-mapping'], 0, 0, MAX_CENTER_COUNT);
  const delayMs = integerOption('delay-ms', values['delay-ms'], 120, 1, 65535);
  const truncLayers = values['trunc-layers'] === undefined ? undefined : integerOption('trunc-layers', values['trunc-layers'], 0, 0, 10_000);
  let psi: number | undefined;
  if (values.psi !== undefined) {
    psi = Number(values.psi);
    if (values.psi.trim() === '' || !(psi >= 0 && psi <= 1)) throw new UsageError(`--psi must be a number in [0, 1], got "${values.psi}"`);
  }

  const source = resolveBundle(values.bundle);
  if (!AuroraInterpolator.supports(source.manifest)) {
    throw new UsageError(`${source.manifest.id} ${source.manifest.version} was built before interpolation stages existed: add them with "aurora upgrade ${values.bundle ?? '<bundle-dir>'}"`);
  }
  const { ort, preferPaths, sessionOptions, generatorGraph } = await loadRuntime(values.runtime);
  const pipeline = await AuroraPipeline.load(ort, source, { preferPaths, sessionOptions, generatorGraph });
  const interpolator = await AuroraInterpolator.load(ort, source, pipeline.text, { preferPaths, sessionOptions, generatorGraph });
  const request = { from, to, steps, seed, psi, interpolateGlobal: values.global, centerCount, truncLayers };
  inputChecked(() => interpolator.resolve(request));
  const result = await interpolator.interpolate(request);

  fs.mkdirSync(values.out, { recursive: true });
  const { width, height, channels } = result.frames[0];
  const written: string[] = [];
  const write = (name: string, bytes: Uint8Array) => {
    const file = path.join(values.out, name);
    fs.writeFileSync(file, bytes);
    written.push(file);
  };
  for (const frame of result.frames) write(`${String(frame.index).padStart(3, '0')}.png`, frame.png);
  const strip = makeGrid(result.frames.map((f) => f.pixels), width, height, channels, result.frames.length);
  write('strip.png', encodePng(strip.pixels, strip.width, strip.height, strip.channels as 1 | 3 | 4));
  write('anim.png', encodeApng(result.frames.map((f) => f.pixels), width, height, channels as 1 | 3 | 4, { delayMs, loops: 0 }));
  const untrained = source.manifest.trained ? '' : ' (untrained bundle: images are noise)';
  const how = `${steps} frames, seed ${seed}, psi ${result.psi}${result.interpolateGlobal ? ', global code blended' : ''}${centerCount ? `, centre of ${centerCount} latents` : ''}`;
  console.log(`${source.manifest.id}: ${how}: wrote ${written[0]} ... ${written.at(-1)}${untrained}`);
  return 0;
}
