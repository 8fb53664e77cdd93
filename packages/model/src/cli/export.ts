import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultBundlePath, ensureDefaultBundle } from '../node/default-bundle.ts';
import { exportTriton, TritonExportError } from '../node/export-triton.ts';
import { integerOption, UsageError } from './errors.ts';

const USAGE =
  'usage: aurora export triton --bundle <dir> --out <model_repository> [--name <model>] [--max-batch-size 32] [--preferred-batch-sizes 4,8,16] [--max-queue-delay-us 2000] [--gpu] [--force]';

/** `aurora export triton`: a Triton model repository entry (config.pbtxt, 1/model.onnx + data) for a bundle's serving graph. */
export async function exportCommand(args: string[]): Promise<number> {
  const options = {
    bundle: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    'max-batch-size': { type: 'string' },
    'preferred-batch-sizes': { type: 'string' },
    'max-queue-delay-us': { type: 'string' },
    gpu: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  } as const;
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof options }>>;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'triton') throw new UsageError(USAGE);
  if (!values.out) throw new UsageError(`--out is required\n${USAGE}`);
  const maxBatchSize = integerOption('max-batch-size', values['max-batch-size'], 32, 1, 1 << 20);
  const maxQueueDelayUs = integerOption('max-queue-delay-us', values['max-queue-delay-us'], 2000, 0, 60_000_000);
  const preferredBatchSizes =
    values['preferred-batch-sizes'] === undefined ? [4, 8, 16].filter((n) => n <= maxBatchSize) : batchSizes(values['preferred-batch-sizes'], maxBatchSize);
  let bundleDir = values.bundle;
  if (bundleDir === undefined) {
    ensureDefaultBundle();
    bundleDir = defaultBundlePath();
  } else if (!fs.existsSync(bundleDir) || !fs.statSync(bundleDir).isDirectory()) {
    throw new UsageError(`--bundle ${bundleDir}: no such folder`);
  }
  try {
    const r = await exportTriton({
      bundleDir,
      out: values.out,
      name: values.name,
      maxBatchSize,
      preferredBatchSizes,
      maxQueueDelayUs,
      gpu: values.gpu,
      force: values.force,
    });
    console.log(`${r.name}: wrote ${r.files.map((f) => `${r.modelDir}/${f}`).join(', ')} (bundle content hash ${r.contentHash.slice(0, 12)})`);
    console.log(`serve it with: tritonserver --model-repository=${values.out}`);
    return 0;
  } catch (error) {
    if (error instanceof TritonExportError) throw new UsageError(error.message);
    throw error;
  }
}

/** "4,8,16" -> [4, 8, 16]: each an integer in [1, max batch size], ascending, no repeats. */
function batchSizes(raw: string, max: number): number[] {
  const parts = raw.split(',').map((p) => p.trim());
  const sizes = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : Number.NaN));
  const ok = parts.length > 0 && sizes.every((n, i) => n >= 1 && n <= max && (i === 0 || n > sizes[i - 1]));
  if (!ok) throw new UsageError(`--preferred-batch-sizes must be ascending integers in [1, ${max}] (the max batch size), comma separated, got "${raw}"`);
  return sizes;
}
