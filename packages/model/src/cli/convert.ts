import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { buildBundle } from '../bundle/build.ts';
import { clipTextCheckpointProvider } from '../clip/weights.ts';
import { inferClipTextConfig } from '../clip/infer-config.ts';
import { type GeneratorConfig, parseGeneratorConfig } from '../config/generator-config.ts';
import { GENERATOR_PRESETS, generatorPreset } from '../config/presets.ts';
import { writeBundleDir } from '../node/bundle-dir.ts';
import { readWeightsFile, textTowerStateDict } from '../node/read-weights.ts';
import { buildGenerator } from '../generator/generator.ts';
import { checkpointProvider, shapeOnlyProvider } from '../onnx/providers.ts';
import { checkStateDict } from '../weights/check.ts';
import { CLIP_MERGE_COUNT } from '../tokenizer/vocab.ts';
import { toFloat32 } from '../weights/index.ts';
import { UsageError } from './errors.ts';
import { trainingRecord } from './training-record.ts';
import { worldPrompts } from '../world/prompts.ts';

const USAGE =
  'usage: aurora convert --checkpoint aurora_v1.pth --clip ViT-L-14.pt --vocab bpe_simple_vocab_16e6.txt.gz --out <dir> [--config aurora-v1|<g_config.json>] [--id aurora-v1] [--clip-heads 12]\n    [--training run.json] [--eval eval.json] [--world-prompts] [--description text]   (a bundle trained by training/train.py)';

function requireFile(flag: string, file: string | undefined): string {
  if (!file) throw new UsageError(`missing --${flag}\n${USAGE}`);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--${flag} ${file}: no such file`);
  return file;
}

/** A preset name, or a JSON file holding a g_config (bare, or under "generator" as the fixtures have it). */
function loadConfig(spec: string): GeneratorConfig {
  if (spec in GENERATOR_PRESETS) return generatorPreset(spec);
  if (!fs.existsSync(spec)) throw new UsageError(`--config ${spec}: neither a preset (${Object.keys(GENERATOR_PRESETS).join(', ')}) nor a file`);
  const json = JSON.parse(fs.readFileSync(spec, 'utf8')) as Record<string, unknown>;
  return parseGeneratorConfig(json.generator ?? json);
}

/**
 * `aurora convert`: the official checkpoint (generator_smooth, else generator), the CLIP text
 * weights and the BPE vocab -> a bundle folder with external-data graphs.
 */
export async function convertCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: 'string' },
      clip: { type: 'string' },
      vocab: { type: 'string' },
      out: { type: 'string' },
      config: { type: 'string', default: 'aurora-v1' },
      id: { type: 'string' },
      version: { type: 'string', default: '1.0.0' },
      'clip-heads': { type: 'string' },
      'merge-count': { type: 'string' },
      description: { type: 'string' },
      training: { type: 'string' },
      eval: { type: 'string' },
      'world-prompts': { type: 'boolean', default: false },
    },
  });
  const checkpoint = requireFile('checkpoint', values.checkpoint);
  const clip = requireFile('clip', values.clip);
  const vocab = requireFile('vocab', values.vocab);
  if (!values.out) throw new UsageError(`missing --out\n${USAGE}`);
  const heads = values['clip-heads'] === undefined ? undefined : Number(values['clip-heads']);
  if (heads !== undefined && !(Number.isInteger(heads) && heads > 0)) throw new UsageError(`--clip-heads must be a positive integer, got ${values['clip-heads']}`);
  const mergeCount = values['merge-count'] === undefined ? CLIP_MERGE_COUNT : Number(values['merge-count']);
  const config = loadConfig(values.config);
  const id = values.id ?? (values.config in GENERATOR_PRESETS ? values.config : 'aurora-custom');

  // The run record is checked before the (possibly gigabytes of) weights are read.
  const training = values.training ? trainingRecord(requireFile('training', values.training), values.eval && requireFile('eval', values.eval)) : undefined;
  if (values.eval && !values.training) throw new UsageError('--eval records figures of a trained run: give --training too');
  console.error(`reading ${checkpoint} ...`);
  const generatorWeights = new Map([...readWeightsFile(checkpoint, 'generator')].map(([k, t]) => [k, toFloat32(t)]));
  // Check the checkpoint against the config before anything else, so a wrong file is named as such.
  checkStateDict(buildGenerator(config, shapeOnlyProvider()).params.stateDictShapes(), generatorWeights);
  console.error(`reading ${clip} ...`);
  const clipWeights = textTowerStateDict(readWeightsFile(clip, 'plain'));
  const clipConfig = inferClipTextConfig(clipWeights, { heads });
  if (clipConfig.width !== config.clip_out_dim) {
    throw new UsageError(`the CLIP text width is ${clipConfig.width} but the generator expects clip_out_dim ${config.clip_out_dim}`);
  }
  console.error('building graphs ...');
  const bundle = buildBundle({
    id,
    version: values.version,
    description: values.description ?? `converted from ${checkpoint.split('/').at(-1)} and ${clip.split('/').at(-1)}`,
    trained: true,
    generator: { config, provider: checkpointProvider(generatorWeights) },
    textEncoder: { config: clipConfig, provider: clipTextCheckpointProvider(clipWeights) },
    vocab: { bytes: new Uint8Array(fs.readFileSync(vocab)), mergeCount },
    training,
    prompts: values['world-prompts'] ? worldPrompts() : undefined,
  });
  writeBundleDir(bundle, values.out);
  console.log(`wrote ${id} (${bundle.manifest.parameters.toLocaleString('en')} parameters) to ${values.out}`);
  return 0;
}
