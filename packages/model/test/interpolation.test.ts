import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/bundle/sha256.ts';
import { conformInterpolation } from '../src/node/conform-interp.ts';
import { FixtureDir } from '../src/node/fixture-dir.ts';
import { AuroraInputError } from '../src/pipeline/errors.ts';
import { type AuroraInterpolator, blendCodes, interpolationWeights } from '../src/pipeline/interpolation.ts';
import { AuroraPipeline } from '../src/pipeline/pipeline.ts';
import { sampleLatents } from '../src/sampling/latent.ts';
import { ClipTokenizer } from '../src/tokenizer/clip-tokenizer.ts';
import { HAS_REFERENCE, REFERENCE_DIR, SHARED_DIR, SKIP_REFERENCE_REASON } from './support/reference.ts';
import { loadTinyNode } from './support/tiny-bundle.ts';

const INTERP_FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/interp');

describe('the blend follows the reference run_interpolate.py', () => {
  it('weights are numpy linspace(0, 1, steps) cast to float32, ending at exactly 1', () => {
    expect(Array.from(interpolationWeights(2))).toEqual([0, 1]);
    expect(Array.from(interpolationWeights(5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const nine = interpolationWeights(9);
    expect(nine[3]).toBe(Math.fround(3 * (1 / 8)));
    expect(Array.from(interpolationWeights(7)).map((t, i) => t === Math.fround(i * (1 / 6)) || i === 6)).not.toContain(false);
    for (const bad of [1, 0, -3, 2.5, Number.NaN]) expect(() => interpolationWeights(bad)).toThrow(RangeError);
  });

  it('codes are src + t * (dst - src) rounded as float32 numpy rounds them; frame 0 is the source exactly', () => {
    const src = Float32Array.of(0.1, -2, 3.3);
    const dst = Float32Array.of(1.7, 5, -0.2);
    const out = blendCodes(src, dst, interpolationWeights(3));
    expect(Array.from(out.subarray(0, 3))).toEqual(Array.from(src));
    const f = Math.fround;
    expect(out[4]).toBe(f(src[1] + f(0.5 * f(dst[1] - src[1]))));
    expect(() => blendCodes(src, dst.subarray(0, 2), interpolationWeights(3))).toThrow(/differ in size/);
  });
});

describe.skipIf(!HAS_REFERENCE)('interp/ fixtures from the original PyTorch code conform', () => {
  if (!HAS_REFERENCE) console.warn(SKIP_REFERENCE_REASON);
  const variants = fs.existsSync(INTERP_FIXTURES) ? fs.readdirSync(INTERP_FIXTURES).filter((v) => fs.existsSync(path.join(INTERP_FIXTURES, v, 'interp'))).sort() : [];
  const tokenizer = () => ClipTokenizer.fromVocabBytes(new Uint8Array(fs.readFileSync(path.join(SHARED_DIR, 'clip/bpe_simple_vocab_16e6.txt.gz'))));

  it('has the committed variants (inter_g on and off, loop_mapping 0 and > 0, trunc_layers below num_layers)', () => {
    expect(variants.length).toBeGreaterThanOrEqual(5);
    const inputs = variants.map((v) => JSON.parse(fs.readFileSync(path.join(INTERP_FIXTURES, v, 'interp/inputs.json'), 'utf8')));
    expect(new Set(inputs.map((i) => i.inter_g))).toEqual(new Set([true, false]));
    expect(inputs.some((i) => i.loop_mapping > 0) && inputs.some((i) => i.loop_mapping === 0)).toBe(true);
    expect(inputs.some((i) => i.trunc_layers < 10)).toBe(true);
  });

  for (const variant of variants) {
    it(`${variant}: every frame's codes, wp and image within 1e-4 of the reference, uint8 frames identical`, async () => {
      const base = variant.startsWith('tiny-plain') ? 'tiny-plain' : 'tiny-full';
      // The fixture layout: the reference case's files with this interp/ folder inside.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-interp-'));
      for (const name of fs.readdirSync(path.join(REFERENCE_DIR, base))) fs.symlinkSync(path.join(REFERENCE_DIR, base, name), path.join(dir, name));
      fs.symlinkSync(path.join(INTERP_FIXTURES, variant, 'interp'), path.join(dir, 'interp'));
      const results = await conformInterpolation(ortNode, new FixtureDir(dir), tokenizer());
      expect(results.length).toBe(5);
      for (const r of results) expect(r.ok, `${r.name}: ${r.error} ${r.detail ?? ''}`).toBe(true);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});

describe('interpolation on a bundle', () => {
  let pipeline: AuroraPipeline;
  let interpolator: AuroraInterpolator;

  beforeAll(async () => {
    ({ pipeline, interpolator } = await loadTinyNode());
  });

  it('leaves generations as they are: the same PNG bytes as the whole-generator graph alone made', async () => {
    // Golden sha256s of aurora-tiny PNGs from the whole-generator graph alone (commit 4c1e32e): the
    // stage graphs sit beside it in the bundle and must not change what a generation makes.
    const images = await pipeline.generate([
      { prompt: 'a red apple on a wooden table', seed: 1 },
      { prompt: 'a red apple on a wooden table', seed: 7 },
    ]);
    expect(images.map((i) => sha256Hex([i.png]))).toEqual([
      '1561bf8c92d5c52bc87404ea38692403d553d6067871e779bba34e711997872a',
      '9bfd2c5ec139adfaf0a80149638fcd85be48bd34fc1dca76575cbb694206184a',
    ]);
  });

  it('the two stages compute what the one generator graph computes (frame 0 = the source prompt generated alone)', async () => {
    const from = 'a green pear';
    const psi = 0.6;
    const seed = 42;
    const frames = await interpolator.stages.frames({
      ...(await (async () => {
        const enc = await pipeline.text.encode([from, 'a blue circle']);
        return interpolator.stages.textCodes(enc.tokens, enc.eotIndex);
      })()),
      steps: 2,
      z: sampleLatents([seed], pipeline.manifest.generator.config.z_dim),
      psi,
      truncLayers: pipeline.manifest.generator.numLayers,
      interpolateGlobal: true,
      centerZ: new Float32Array(0),
    });
    const enc = await pipeline.text.encode([from]);
    // The one-graph generator (the pipeline itself runs the serving graph).
    const { generator } = await AuroraPipeline.load(ortNode, pipeline.source, { preferPaths: true, generatorSession: true });
    if (!generator) throw new Error('generator.onnx was asked for');
    const whole = await generator.run({ textTokens: enc.tokens, eotIndex: enc.eotIndex, z: sampleLatents([seed], pipeline.manifest.generator.config.z_dim), psi: [psi] });
    const image = whole.image.data as Float32Array;
    let max = 0;
    for (let i = 0; i < image.length; i++) max = Math.max(max, Math.abs(image[i] - frames.image[i]));
    expect(max).toBeLessThan(1e-5);
  });

  it('a frame is the same bytes whatever batch it runs in (steps 5 vs 9 share t = 0, 0.5, 1)', async () => {
    const ask = { from: 'a red square', to: 'a yellow triangle on black', seed: 3, psi: 0.7, interpolateGlobal: true };
    const five = await interpolator.interpolate({ ...ask, steps: 5 });
    const nine = await interpolator.interpolate({ ...ask, steps: 9 });
    expect(five.frames).toHaveLength(5);
    expect(nine.frames.map((f) => f.t)).toEqual(Array.from(interpolationWeights(9)));
    for (const [a, b] of [[0, 0], [2, 4], [4, 8]]) expect(sha256Hex([five.frames[a].png])).toBe(sha256Hex([nine.frames[b].png]));
    expect(sha256Hex([five.frames[0].png])).not.toBe(sha256Hex([five.frames[4].png]));
  });

  it('defaults to the reference flow (no centre, local codes only); the text-conditional centre and the global blend change frames', async () => {
    const ask = { from: 'a white circle', to: 'a black square', steps: 3, seed: 8 };
    const plain = await interpolator.interpolate(ask);
    expect(plain).toMatchObject({ interpolateGlobal: false, centerCount: 0, psi: pipeline.manifest.sampling.defaultPsi, truncLayers: pipeline.manifest.generator.numLayers });
    const centred = await interpolator.interpolate({ ...ask, centerCount: pipeline.manifest.sampling.centerCount });
    const global = await interpolator.interpolate({ ...ask, interpolateGlobal: true });
    const hash = (r: typeof plain, i: number) => sha256Hex([r.frames[i].png]);
    expect(hash(centred, 1)).not.toBe(hash(plain, 1));
    expect(hash(global, 2)).not.toBe(hash(plain, 2));
    // Without the global blend every frame's mapping sees the source: frame 0 is the same either way.
    expect(hash(global, 0)).toBe(hash(plain, 0));
  });

  it('names the field of every bad request', () => {
    const ok = { from: 'a red apple', to: 'a green pear', steps: 4, seed: 1 };
    const field = (change: object) => {
      try {
        interpolator.resolve({ ...ok, ...change });
      } catch (e) {
        expect(e).toBeInstanceOf(AuroraInputError);
        return (e as AuroraInputError).field;
      }
      return null;
    };
    expect(field({})).toBeNull();
    expect(field({ steps: 1 })).toBe('steps');
    expect(field({ steps: 34 })).toBe('steps');
    expect(field({ steps: 2.5 })).toBe('steps');
    expect(field({ seed: -1 })).toBe('seed');
    expect(field({ seed: 2 ** 32 })).toBe('seed');
    expect(field({ psi: 1.5 })).toBe('psi');
    expect(field({ psi: Number.NaN })).toBe('psi');
    expect(field({ truncLayers: 99 })).toBe('trunc_layers');
    expect(field({ centerCount: -1 })).toBe('center_count');
    expect(field({ from: '  ' })).toBe('from');
    expect(field({ to: 'word '.repeat(100) })).toBe('to');
  });
});
