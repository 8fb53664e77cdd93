/**
 * The trainer end to end, small enough for CI (issue 12 item 5): training/train.py runs 3 CPU steps
 * of a tiny generator (aurora-shapes shrunk to 16x16, attention + MoE + MTM still on) against the
 * procedural world, resumes to step 5, and its EMA generator, converted by `aurora convert`, runs in
 * onnxruntime-node with the same image as PyTorch's eval-mode forward. Needs a Python with torch
 * (Debian python3-torch at /usr/bin/python3, or TORCH_PYTHON); skips loudly without one, and fails
 * instead when AURORA_REQUIRE_TORCH=1 (as .ci/run sets).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertCommand } from '../packages/model/src/cli/convert.ts';
import { parseGeneratorConfig } from '../packages/model/src/config/generator-config.ts';
import { GENERATOR_PRESETS } from '../packages/model/src/config/presets.ts';
import { readBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { findTorchPython, runTrainingPython, TRAINING_DIR } from './support/torch-python.ts';
import { expectBundleMatchesTorch, ints } from './support/torch-outputs.ts';

const TRAIN = path.join(TRAINING_DIR, 'train.py');
const TESTS = path.join(TRAINING_DIR, 'tests');
const VOCAB = path.join(TRAINING_DIR, 'data/vocab.txt.gz');
const WORLD_TOKENS = JSON.parse(fs.readFileSync(path.join(TRAINING_DIR, 'data/world-tokens.json'), 'utf8')) as { mergeCount: number; vocabSize: number };

const python = findTorchPython();
const requireTorch = process.env.AURORA_REQUIRE_TORCH === '1';
if (!python) {
  console.warn(
    `trainer smoke test ${requireTorch ? 'FAILS' : 'SKIPPED'}: no Python with torch (TORCH_PYTHON, /usr/bin/python3, python3); ` +
      'install Debian python3-torch or set TORCH_PYTHON',
  );
}

/**
 * aurora-shapes shrunk to a 16x16 generator of ~190 k parameters that still has
 * every code path the preset trains: Fourier input, MTM, L2 attention at 8 and 16 with the text
 * head, sparse MoE (2 experts at each attention resolution), adaptive kernels and skip toRGB.
 * 32 channels is the floor (the attention block's GroupNorm has 32 groups); 16 is a power of two
 * >= 8, which the discriminator needs; the world renders at any size.
 */
const TINY = parseGeneratorConfig({
  ...GENERATOR_PRESETS['aurora-shapes'],
  resolution: 16,
  z_dim: 8,
  w_dim: 16,
  mapping_fmaps: 16,
  context_dim: 16,
  clip_out_dim: 16,
  embedding_dim: 16,
  num_heads: 2,
  head_dim: 16,
  fmaps_base: 512,
  fmaps_max: 32,
  num_adaptive_kernels: { 4: 1, 8: 2, 16: 2 },
  num_block_per_res: { 4: 1, 8: 1, 16: 1 },
  attn_resolutions: ['8', '16'],
  attn_depth: { 8: 1, 16: 1 },
  num_experts: { 8: 2, 16: 2 },
  ms_training_res: ['4', '8', '16'],
});
/** train.py's --text-config: the frozen tower's width must be the generator's clip_out_dim. */
const TEXT = { width: TINY.clip_out_dim, heads: 2, layers: 1, embed_dim: 16, context_length: 77, seed: 7 };

const LOSSES = ['loss_d', 'loss_g', 'd_real', 'd_fake', 'd_mismatch', 'g_adv', 'moe', 'd_contrastive', 'g_contrastive'] as const;

interface LogLine {
  step: number;
  nimg: number;
  r1?: number;
  [key: string]: number | undefined;
}
interface RunInfo {
  status: string;
  command: string;
  commit: string;
  steps: number;
  images: number;
  args: Record<string, unknown>;
}

// Defined only when it fails, so a machine with torch does not count a phantom skipped test.
if (python === null && requireTorch) {
  describe('trainer smoke (training/train.py)', () => {
    it('has a Python with torch (AURORA_REQUIRE_TORCH=1)', () => {
      expect.fail('no Python with torch found (TORCH_PYTHON, /usr/bin/python3, python3) but AURORA_REQUIRE_TORCH=1');
    });
  });
}

describe.skipIf(python === null)('trainer smoke (training/train.py)', () => {
  let dir = '';
  let run = '';
  let gConfig = '';
  let common: string[] = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-trainer-smoke-'));
    run = path.join(dir, 'run');
    gConfig = path.join(dir, 'g_config.json');
    const textConfig = path.join(dir, 'text.json');
    fs.writeFileSync(gConfig, JSON.stringify(TINY));
    fs.writeFileSync(textConfig, JSON.stringify(TEXT));
    common = ['--out', run, '--g-config', gConfig, '--text-config', textConfig, '--device', 'cpu', '--batch', '4', '--r1-every', '2', '--log-every', '1'];
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const readLog = (): LogLine[] =>
    fs
      .readFileSync(path.join(run, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
  const readRun = (): RunInfo => JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')) as RunInfo;

  it('trains 3 steps: finite losses every step, lazy R1 on steps 1 and 3, checkpoint, EMA, tower, snapshot, run.json', () => {
    const args = [...common, '--steps', '3', '--snapshot-minutes', '0.001'];
    const out = runTrainingPython(python!, [TRAIN, ...args]);
    expect(out).toMatch(/done: 3 steps, 12 images/);

    const log = readLog();
    expect(log.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(log.map((l) => l.nimg)).toEqual([4, 8, 12]);
    for (const line of log) {
      for (const key of LOSSES) expect(Number.isFinite(line[key]), `step ${line.step} ${key}=${line[key]}`).toBe(true);
    }
    // The MoE layers train: their auxiliary loss is part of G's loss and positive.
    expect(log.every((l) => (l.moe ?? 0) > 0)).toBe(true);
    // R1 runs when step % r1_every == 0 before the step counter moves: logged steps 1 and 3.
    expect(log.map((l) => l.r1 !== undefined && Number.isFinite(l.r1))).toEqual([true, false, true]);

    for (const file of ['checkpoint.pt', 'generator_smooth.pth', 'clip_text.pth', 'run.json']) {
      expect(fs.existsSync(path.join(run, file)), file).toBe(true);
    }
    // The 0.001-minute mark passes during step 1: one float16 EMA snapshot.
    expect(fs.readdirSync(path.join(run, 'snapshots'))).toEqual(['ema-0000001.pth']);

    const info = readRun();
    expect(info.status).toBe('finished');
    expect(info.steps).toBe(3);
    expect(info.images).toBe(12);
    expect(info.command).toBe([TRAIN, ...args].join(' '));
    expect(info.commit).toMatch(/\S/);
  });

  it('resumes from step 3 to 5 (log appends steps 4 and 5; run.json takes the commit from AURORA_COMMIT)', () => {
    const args = [...common, '--resume', '--steps', '5'];
    const before = process.env.AURORA_COMMIT;
    process.env.AURORA_COMMIT = 'smoke-test-commit';
    let out: string;
    try {
      out = runTrainingPython(python!, [TRAIN, ...args]);
    } finally {
      if (before === undefined) delete process.env.AURORA_COMMIT;
      else process.env.AURORA_COMMIT = before;
    }
    expect(out).toMatch(/resumed at step 3 \(12 images/);
    expect(out).toMatch(/done: 5 steps, 20 images/);
    const log = readLog();
    expect(log.map((l) => l.step)).toEqual([1, 2, 3, 4, 5]);
    expect(log.map((l) => l.nimg)).toEqual([4, 8, 12, 16, 20]);
    for (const line of log.slice(3)) {
      for (const key of LOSSES) expect(Number.isFinite(line[key]), `step ${line.step} ${key}=${line[key]}`).toBe(true);
    }
    // The R1 schedule continues from the restored step counter (step index 4 -> logged step 5).
    expect(log.slice(3).map((l) => l.r1 !== undefined)).toEqual([false, true]);
    // No snapshot mark is left after the resumed wall time.
    expect(fs.readdirSync(path.join(run, 'snapshots'))).toEqual(['ema-0000001.pth']);

    const info = readRun();
    expect(info.status).toBe('finished');
    expect(info.steps).toBe(5);
    expect(info.images).toBe(20);
    expect(info.command).toBe([TRAIN, ...args].join(' '));
    expect(info.commit).toBe('smoke-test-commit');
  });

  it('converts: `aurora convert` of the EMA generator runs in onnxruntime with PyTorch eval mode’s image (1e-4)', async () => {
    const checkpoint = path.join(run, 'generator_smooth.pth');
    const clip = path.join(run, 'clip_text.pth');
    expect(fs.existsSync(checkpoint), 'needs the training run above').toBe(true);

    // PyTorch: the trained EMA generator and the frozen tower on seeded ids and z, eval mode, psi 1.
    const io = path.join(dir, 'io');
    const made = runTrainingPython(python!, [
      path.join(TESTS, 'make_random_generator.py'),
      gConfig,
      io,
      '--checkpoint',
      checkpoint,
      '--clip',
      clip,
      '--clip-heads',
      String(TEXT.heads),
      '--batch',
      '3',
    ]);
    const meta = JSON.parse(made.trim().split('\n').at(-1)!) as Record<string, number[]>;
    const [n, channels, size] = meta['image.f32'];
    expect([n, channels, size]).toEqual([3, TINY.image_channels, TINY.resolution]);
    // The ids come from the checkpoint's vocabulary (the world's: SOT/EOT are its last two ids).
    expect(Math.max(...ints(path.join(io, 'token_ids.i32')))).toBe(WORLD_TOKENS.vocabSize - 1);

    const bundleDir = path.join(dir, 'bundle');
    const code = await convertCommand([
      '--checkpoint',
      checkpoint,
      '--clip',
      clip,
      '--vocab',
      VOCAB,
      '--merge-count',
      String(WORLD_TOKENS.mergeCount),
      '--config',
      gConfig,
      '--clip-heads',
      String(TEXT.heads),
      '--id',
      'trainer-smoke',
      '--out',
      bundleDir,
    ]);
    expect(code).toBe(0);
    const bundle = readBundleDir(bundleDir);
    expect(bundle.manifest.tokenizer.mergeCount).toBe(WORLD_TOKENS.mergeCount);

    // Text tower and generator within 1e-4; not a trivially equal pair: the samples differ from each other.
    await expectBundleMatchesTorch(bundle, io, n, { clipWidth: TINY.clip_out_dim, zDim: TINY.z_dim }, 0.1);
  });
});
