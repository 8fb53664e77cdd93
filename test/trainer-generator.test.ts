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
import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertCommand } from '../packages/model/src/cli/convert.ts';
import { generatorPreset } from '../packages/model/src/config/presets.ts';
import { maxAbsDiff } from '../packages/model/src/conform/compare.ts';
import { readBundleDir } from '../packages/model/src/node/bundle-dir.ts';
import { createGraphSession } from '../packages/model/src/pipeline/sessions.ts';
import { GeneratorSession } from '../packages/model/src/runtime/generator-session.ts';
import type { OrtModule } from '../packages/model/src/runtime/ort-types.ts';
import { parseClipVocab } from '../packages/model/src/tokenizer/vocab.ts';
import { findTorchPython, runTrainingPython, TRAINING_DIR } from './support/torch-python.ts';

const ort = ortNode as unknown as OrtModule;
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

function floats(file: string): Float32Array {
  return new Float32Array(new Uint8Array(fs.readFileSync(file)).buffer);
}

function ints(file: string): Int32Array {
  return new Int32Array(new Uint8Array(fs.readFileSync(file)).buffer);
}

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
    const bundle = readBundleDir(out);
    const m = bundle.manifest;

    // The text tower: our CLIP graph on the same token ids gives the PyTorch tower's ln_final tokens.
    const ids = BigInt64Array.from(ints(path.join(dir, 'token_ids.i32')), (v) => BigInt(v));
    const text = await createGraphSession(ort, bundle, m.textEncoder, { preferPaths: true });
    const encoded = await text.run({ token_ids: new ort.Tensor('int64', ids, [n, 77]) });
    const tokens = floats(path.join(dir, 'clip_tokens.f32'));
    expect(maxAbsDiff(tokens, encoded.text_tokens.data as Float32Array)).toBeLessThanOrEqual(1e-4);
    const eot = Array.from(ints(path.join(dir, 'eot_ind.i32')));
    expect(Array.from(encoded.eot_index.data as BigInt64Array, Number)).toEqual(eot);

    // The generator: same z and text tokens, psi 1, eval mode in PyTorch.
    const generator = GeneratorSession.wrap(ort, await createGraphSession(ort, bundle, m.generator, { preferPaths: true }), {
      clipWidth: config.clip_out_dim,
      zDim: config.z_dim,
      numLayers: m.generator.numLayers,
    });
    const result = await generator.run({ textTokens: tokens, eotIndex: eot, z: floats(path.join(dir, 'z.f32')), psi: new Array(n).fill(1) });
    const expected = floats(path.join(dir, 'image.f32'));
    const image = result.image.data as Float32Array;
    expect(image.length).toBe(expected.length);
    expect(maxAbsDiff(expected, image)).toBeLessThanOrEqual(1e-4);
    // Not a trivially equal pair: the image has structure and differs between samples.
    const perSample = expected.length / n;
    expect(maxAbsDiff(expected.subarray(0, perSample), expected.subarray(perSample, 2 * perSample))).toBeGreaterThan(0.05);
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
