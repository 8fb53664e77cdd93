/**
 * The trainer's PyTorch generator (training/aurora_train) against the two things it must equal:
 * the reference implementation (the shared fixtures, through training/tests/check_reference.py)
 * and our ONNX graph (a seeded random aurora-shapes generator saved by PyTorch, converted by
 * `aurora convert`, run in onnxruntime-node). Needs a Python with torch (Debian python3-torch at
 * /usr/bin/python3, or TORCH_PYTHON) and ../shared; skips loudly without them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertCommand } from '../packages/model/src/cli/convert.ts';
import { generatorPreset } from '../packages/model/src/config/presets.ts';
import { readBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { parseClipVocab } from '../packages/model/src/tokenizer/vocab.ts';
import { findTorchPython, runTrainingPython, TRAINING_DIR } from './support/torch-python.ts';
import { expectBundleMatchesTorch } from './support/torch-outputs.ts';

const SHARED_DIR = path.resolve(TRAINING_DIR, '../../shared');
const REFERENCE_DIR = path.join(SHARED_DIR, 'reference');
const VOCAB = path.join(SHARED_DIR, 'clip/bpe_simple_vocab_16e6.txt.gz');
const TESTS = path.join(TRAINING_DIR, 'tests');

const python = findTorchPython();
const skipReason = !python
  ? 'no Python with torch (TORCH_PYTHON, /usr/bin/python3, python3)'
  : !fs.existsSync(REFERENCE_DIR) || !fs.existsSync(VOCAB)
    ? `shared fixtures not found at ${SHARED_DIR}`
    : null;
if (skipReason) console.warn(`trainer-generator tests SKIPPED: ${skipReason}`);

const fixtures = skipReason
  ? []
  : fs.readdirSync(REFERENCE_DIR).filter((name) => fs.existsSync(path.join(REFERENCE_DIR, name, 'generator.pth'))).sort();

describe.skipIf(skipReason !== null)('trainer generator (training/aurora_train)', () => {
  it('finds the shared fixtures', () => {
    expect(fixtures).toEqual(expect.arrayContaining(['tiny-full', 'tiny-plain']));
  });

  for (const name of fixtures) {
    it(`equals the reference on ${name} (check_reference.py: images, text, wp, router choices, CLIP)`, () => {
      const out = runTrainingPython(python!, [path.join(TESTS, 'check_reference.py'), path.join(REFERENCE_DIR, name)]);
      expect(out).toMatch(/all \d+ checks passed/);
      expect(out).not.toMatch(/^FAIL/m);
    });
  }

  it('equals our ONNX graph: a random aurora-shapes generator saved by PyTorch, converted, run in onnxruntime', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-trainer-g-'));
    const config = generatorPreset('aurora-shapes');
    fs.writeFileSync(path.join(dir, 'g_config.json'), JSON.stringify(config));
    const vocabSize = parseClipVocab(new Uint8Array(fs.readFileSync(VOCAB))).decoder.length;
    const made = runTrainingPython(python!, [
      path.join(TESTS, 'make_random_generator.py'), path.join(dir, 'g_config.json'), dir, '--vocab-size', String(vocabSize), '--clip-heads', '4',
    ]);
    const meta = JSON.parse(made.trim().split('\n').at(-1)!) as Record<string, number[]>;
    const [n, channels, size] = meta['image.f32'];
    expect([channels, size]).toEqual([config.image_channels, config.resolution]);

    const out = path.join(dir, 'bundle');
    const code = await convertCommand([
      '--checkpoint', path.join(dir, 'generator.pth'), '--clip', path.join(dir, 'clip_text.pth'), '--vocab', VOCAB,
      '--config', 'aurora-shapes', '--clip-heads', '4', '--id', 'trainer-test', '--out', out,
    ]);
    expect(code).toBe(0);
    // Text tower and generator (eval mode in PyTorch) within 1e-4; the image has structure and differs between samples.
    await expectBundleMatchesTorch(readBundleDir(out), dir, n, { clipWidth: config.clip_out_dim, zDim: config.z_dim }, 0.05);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains: a CPU forward+backward in training mode gives every parameter a finite nonzero gradient and a positive MoE loss', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-trainer-step-'));
    const file = path.join(dir, 'g_config.json');
    fs.writeFileSync(file, JSON.stringify(generatorPreset('aurora-shapes')));
    let out: string;
    try {
      out = runTrainingPython(python!, [path.join(TESTS, 'check_training_step.py'), file, '--batch', '2']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const report = JSON.parse(out.trim().split('\n').at(-1)!) as {
      parameters: number; no_grad: string[]; non_finite_grad: string[]; zero_grad: string[]; moe_loss: number; w_avg_moved: number;
    };
    expect(report.parameters).toBeGreaterThan(100);
    expect(report.no_grad).toEqual([]);
    expect(report.non_finite_grad).toEqual([]);
    expect(report.zero_grad).toEqual([]);
    expect(Number.isFinite(report.moe_loss) && report.moe_loss > 0).toBe(true);
    expect(report.w_avg_moved).toBeGreaterThan(0);
  });
});
