import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff } from '../src/conform/compare.ts';
import { FixtureDir } from '../src/node/fixture-dir.ts';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { createGraphSession } from '../src/pipeline/sessions.ts';
import { GeneratorSession } from '../src/runtime/generator-session.ts';
import { runAuroraInProcess } from './support/cli.ts';
import { CLIP_VOCAB, HAS_REFERENCE, REFERENCE_DIR } from './support/reference.ts';
import { scriptModuleArchive } from './support/torchscript-archive.ts';
import { type StateDict, createTensor, readStateDict } from '../src/weights/index.ts';

const ort = ortNode;

/** `aurora <args>` in process (support/cli.ts); cli.e2e.test.ts runs the binary. */
const aurora = (...args: string[]) => runAuroraInProcess(args);

describe.skipIf(!HAS_REFERENCE)('aurora convert', () => {
  const fixture = path.join(REFERENCE_DIR, 'tiny-full');
  const vocab = CLIP_VOCAB;

  it('turns a reference checkpoint + CLIP weights + vocab into a bundle that reproduces the reference image', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-convert-')), 'tiny-full');
    const args = ['convert', '--checkpoint', path.join(fixture, 'generator.pth'), '--clip', path.join(fixture, 'clip_text.pth')];
    const r = await aurora(...args, '--vocab', vocab, '--config', path.join(fixture, 'config.json'), '--clip-heads', '4', '--id', 'tiny-full', '--out', out);
    expect(r.stderr + r.stdout).toMatch(/wrote tiny-full/);
    expect(r.code).toBe(0);

    // Token ids -> our CLIP graph -> our generator graph, all from the bundle, against the reference.
    const fx = new FixtureDir(fixture);
    const bundle = readBundleDir(out);
    const m = bundle.manifest;
    expect(m.trained).toBe(true);
    const text = await createGraphSession(ort, bundle, m.textEncoder, { preferPaths: true });
    const [n, length] = fx.shape('inputs/token_ids.i32');
    const ids = BigInt64Array.from(fx.ints('inputs/token_ids.i32'), (v) => BigInt(v));
    const encoded = await text.run({ token_ids: new ort.Tensor('int64', ids, [n, length]) });
    const generator = GeneratorSession.wrap(ort, await createGraphSession(ort, bundle, m.generator, { preferPaths: true }), {
      clipWidth: m.generator.config.clip_out_dim,
      zDim: m.generator.config.z_dim,
      numLayers: m.generator.numLayers,
    });
    const out1 = await generator.run({
      textTokens: encoded.text_tokens.data as Float32Array,
      eotIndex: Array.from(encoded.eot_index.data as BigInt64Array, Number),
      z: fx.floats('inputs/z.f32'),
      psi: new Array(n).fill(1),
    });
    expect(maxAbsDiff(fx.floats('outputs/psi_1.0/image.f32'), out1.image.data as Float32Array)).toBeLessThanOrEqual(1e-4);
  });

  // OpenAI's released ViT-L-14.pt is a TorchScript archive of the whole CLIP model: vision tower,
  // int buffers, causal masks as plain attributes, float16 storages on 'cuda:0'.
  for (const half of [false, true]) {
    it(`reads the CLIP text weights from a TorchScript archive laid out like OpenAI's ViT-L-14.pt (${half ? 'float16' : 'float32'})`, async () => {
      const text = readStateDict(new Uint8Array(fs.readFileSync(path.join(fixture, 'clip_text.pth'))));
      const width = text.get('ln_final.weight')!.shape[0];
      const long = (v: number) => createTensor('int64', [], BigInt64Array.of(BigInt(v)));
      const whole: StateDict = new Map([
        ['positional_embedding', text.get('positional_embedding')!],
        ['text_projection', text.get('text_projection')!],
        ['logit_scale', createTensor('float32', [], Float32Array.of(4.6))],
        ['input_resolution', long(224)],
        ['context_length', long(77)],
        ['vocab_size', long(49408)],
        ['visual.proj', createTensor('float32', [4, width], new Float32Array(4 * width).fill(0.5))],
        ...[...text].filter(([k]) => !['positional_embedding', 'text_projection'].includes(k)),
      ]);
      const blocks = new Set([...text.keys()].flatMap((k) => /^transformer\.resblocks\.(\d+)\./.exec(k)?.[1] ?? []));
      const plain = new Map([...blocks].map((b) => [`transformer.resblocks.${b}.attn_mask`, createTensor('float32', [77, 77], new Float32Array(77 * 77))]));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-convert-jit-'));
      const clip = path.join(dir, 'ViT-L-14.pt');
      const buffers = new Set(['input_resolution', 'context_length', 'vocab_size']);
      fs.writeFileSync(clip, scriptModuleArchive(whole, { buffers, plain, half, location: 'cuda:0' }));

      const out = path.join(dir, 'bundle');
      const r = await aurora('convert', '--checkpoint', path.join(fixture, 'generator.pth'), '--clip', clip, '--vocab', vocab, '--config', path.join(fixture, 'config.json'), '--clip-heads', '4', '--out', out);
      expect(r.stderr + r.stdout).toMatch(/wrote /);
      expect(r.code).toBe(0);

      const fx = new FixtureDir(fixture);
      const bundle = readBundleDir(out);
      const session = await createGraphSession(ort, bundle, bundle.manifest.textEncoder, { preferPaths: true });
      const [n, length] = fx.shape('inputs/token_ids.i32');
      const ids = BigInt64Array.from(fx.ints('inputs/token_ids.i32'), (v) => BigInt(v));
      const encoded = await session.run({ token_ids: new ort.Tensor('int64', ids, [n, length]) });
      // float16 weights cannot reproduce float32 features to 1e-4; they must still be close.
      expect(maxAbsDiff(fx.floats('inputs/clip_tokens.f32'), encoded.text_tokens.data as Float32Array)).toBeLessThanOrEqual(half ? 1e-2 : 1e-4);
    });
  }

  it('records a trained bundle\'s run, its eval figures and the world\'s prompts in the manifest', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-convert-'));
    const run = { command: 'training/train.py --out runs/x --seed 3', commit: 'abc123', args: { seed: 3 }, steps: 12, images: 768, wall_seconds: 4.5, device: 'NVIDIA H200', torch: '2.11.0' };
    const report = { colour_acc: 0.5, shape_acc: 0.25, heldout_acc: 0.125, diversity: 0.4, seeds: 8, seed_start: 1000000, psi: 0.7 };
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run));
    fs.writeFileSync(path.join(dir, 'eval.json'), JSON.stringify(report));
    const base = ['convert', '--checkpoint', path.join(fixture, 'generator.pth'), '--clip', path.join(fixture, 'clip_text.pth'), '--vocab', vocab];
    const opts = ['--config', path.join(fixture, 'config.json'), '--clip-heads', '4'];
    const out = path.join(dir, 'bundle');
    const r = await aurora(...base, ...opts, '--training', path.join(dir, 'run.json'), '--eval', path.join(dir, 'eval.json'), '--world-prompts', '--description', 'trained here', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const m = readBundleDir(out).manifest;
    expect(m.description).toBe('trained here');
    expect(m.training).toEqual({
      command: 'python3 training/train.py --out runs/x --seed 3', commit: 'abc123', seed: 3, steps: 12, images: 768, wallSeconds: 4.5, machine: 'NVIDIA H200', framework: 'torch 2.11.0',
      eval: { colour_acc: 0.5, shape_acc: 0.25, heldout_acc: 0.125, diversity: 0.4, seeds: '8 seeds from 1000000, psi 0.7' },
    });
    expect(m.prompts?.vocabulary.colours).toContain('red');
    expect(m.prompts?.vocabulary.shapes).toEqual(['circle', 'square', 'triangle']);
    expect(m.prompts?.examples).toContain('a red circle');

    // A run record without its fields is a usage error naming the flag and the field; nothing is written.
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ ...run, steps: 'many' }));
    const bad = await aurora(...base, ...opts, '--training', path.join(dir, 'bad.json'), '--out', path.join(dir, 'bad'));
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('aurora: --training: "steps" is missing or of the wrong type');
    expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
  });

  it('names what is wrong with a checkpoint that does not fit the config', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-convert-'));
    const clip = path.join(fixture, 'clip_text.pth');
    const r = await aurora('convert', '--checkpoint', clip, '--clip', clip, '--vocab', vocab, '--out', path.join(out, 'x'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/aurora: checkpoint does not match the model: \d+ missing, \d+ unexpected/);
    expect(fs.existsSync(path.join(out, 'x'))).toBe(false);
    const missing = await aurora('convert', '--checkpoint', '/nope.pth', '--clip', clip, '--vocab', vocab, '--out', out);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('aurora: --checkpoint /nope.pth: no such file');
  });
});
