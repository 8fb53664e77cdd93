/**
 * The serving graph (serving.onnx): what AuroraPipeline runs when a bundle has it. Its images must be
 * the bytes the text encoder + generator graphs + host postprocess made before (within a runtime),
 * rows must not depend on the batch, partial images must be the synthesis's lower-resolution images,
 * and `aurora upgrade` must add it to an older bundle with a fresh build's bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { BundleError } from '../src/bundle/manifest.ts';
import { generatorPreset } from '../src/config/presets.ts';
import { buildGenerator } from '../src/generator/generator.ts';
import { toUint8Image } from '../src/image/postprocess.ts';
import { decodePng } from '../src/image/png.ts';
import { readBundleDir } from '../src/node/bundle-dir.ts';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { upgradeBundleDir } from '../src/node/upgrade-bundle.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { randomProvider } from '../src/onnx/providers.ts';
import { AuroraPipeline, type GenerateRequest } from '../src/pipeline/pipeline.ts';
import { GeneratorSession } from '../src/runtime/generator-session.ts';
import type { OrtModule } from '../src/runtime/ort-types.ts';
import { ServingSession } from '../src/runtime/serving-session.ts';
import { sampleCenterLatents, sampleLatents } from '../src/sampling/latent.ts';
import { servingTensors } from '../src/serving/tensors.ts';
import { parityStats, withinParity } from './support/parity.ts';
import { tinyBundleDir, zeroFourBytes } from './support/tiny-bundle.ts';

const SERVING_FILES = ['serving.onnx', 'serving-gpu.onnx'];

/** A copy of a bundle as code before the serving graph wrote it: no serving files, no manifest entry. */
function withoutServing(dir: string): string {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  delete m.serving;
  for (const f of SERVING_FILES) {
    delete m.files[f];
    fs.rmSync(path.join(dir, f));
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  return dir;
}

const REQUESTS: GenerateRequest[] = [
  { prompt: 'a red apple on a wooden table', seed: 1 },
  { prompt: 'a red apple on a wooden table', seed: 7, psi: 1 },
  { prompt: 'a green pear', seed: 3, psi: 0 },
  { prompt: 'an astronaut riding a horse', seed: 4_000_000_000, psi: 0.35 },
  { prompt: 'a cat in the rain', seed: 12 },
];

const runtimes: [string, () => Promise<OrtModule>, { preferPaths?: boolean }][] = [
  ['onnxruntime-node', async () => ortNode, { preferPaths: true }],
  ['onnxruntime-web (WASM)', loadOrtWasm, {}],
];

describe('the serving graph in a bundle', () => {
  let dir: string;
  let old: string;
  beforeAll(() => {
    dir = tinyBundleDir();
    old = withoutServing(tinyBundleDir());
  });
  // One pipeline per (runtime, bundle) for the whole file: loading is most of a small test's time.
  const loaded = new Map<string, Promise<AuroraPipeline>>();
  const pipelineOf = (name: string, load: () => Promise<OrtModule>, options: { preferPaths?: boolean }, bundle: string): Promise<AuroraPipeline> => {
    const key = `${name} ${bundle}`;
    let p = loaded.get(key);
    if (!p) loaded.set(key, (p = load().then((ort) => AuroraPipeline.load(ort, readBundleDir(bundle), options))));
    return p;
  };
  const nodeOf = (bundle: string) => pipelineOf(runtimes[0][0], runtimes[0][1], runtimes[0][2], bundle);

  it('is in the manifest, covered by its sha256s, and reads the existing data files (no weights of its own)', () => {
    const m = readBundleDir(dir).manifest;
    expect(m.serving).toEqual({
      graph: 'serving.onnx',
      gpuGraph: 'serving-gpu.onnx',
      externalData: ['text-encoder.onnx.data', 'generator.onnx.data'],
      partials: [4, 8, 16, 32],
    });
    for (const f of SERVING_FILES) expect(m.files[f].bytes).toBe(fs.statSync(path.join(dir, f)).size);
    // The graph and its constants only: far below the 7.9 MB of weights it reads.
    expect(m.files['serving.onnx'].bytes).toBeLessThan(m.files['generator.onnx'].bytes + m.files['text-encoder.onnx'].bytes + 64 * 1024);
    expect(servingTensors(m)).toMatchObject({
      inputs: [
        { name: 'input_ids', dtype: 'int32', datatype: 'INT32', tritonType: 'TYPE_INT32', shape: [-1, 77] },
        { name: 'z', dtype: 'float32', datatype: 'FP32', shape: [-1, 32] },
        { name: 'psi', dtype: 'float32', datatype: 'FP32', shape: [-1, 1] },
      ],
      outputs: [
        { name: 'images', dtype: 'uint8', datatype: 'UINT8', tritonType: 'TYPE_UINT8', shape: [-1, 64, 64, 3] },
        { name: 'partial_images_4', shape: [-1, 4, 4, 3] },
        { name: 'partial_images_8', shape: [-1, 8, 8, 3] },
        { name: 'partial_images_16', shape: [-1, 16, 16, 3] },
        { name: 'partial_images_32', shape: [-1, 32, 32, 3] },
      ],
    });
    expect(() => servingTensors(readBundleDir(old).manifest)).toThrow(/aurora upgrade/);
  });

  it.each(runtimes)('makes the same PNG bytes as the text encoder + generator graphs did, on %s', async (name, load, options) => {
    const serving = await pipelineOf(name, load, options, dir);
    const before = await pipelineOf(name, load, options, old);
    expect(serving.serving).not.toBeNull();
    expect(serving.generator).toBeNull();
    expect(before.serving).toBeNull();
    const [a, b] = [await serving.generate(REQUESTS), await before.generate(REQUESTS)];
    a.forEach((img, i) => expect(Buffer.from(img.png).equals(Buffer.from(b[i].png)), `${REQUESTS[i].prompt} seed ${REQUESTS[i].seed}`).toBe(true));
  });

  it.each(runtimes)('gives each row the bytes it has alone, whatever else is in the batch, on %s', async (name, load, options) => {
    const pipeline = await pipelineOf(name, load, options, dir);
    const together = await pipeline.generate(REQUESTS);
    for (const [i, r] of REQUESTS.entries()) {
      const [alone] = await pipeline.generate([r]);
      expect(Buffer.from(alone.pixels).equals(Buffer.from(together[i].pixels)), `row ${i}`).toBe(true);
    }
  });

  it('returns the partial images on request: the synthesis lower-resolution images, postprocessed alike, without changing the image', async () => {
    const pipeline = await nodeOf(dir);
    const requests = REQUESTS.slice(0, 3);
    const withPartials = await pipeline.generate(requests, { partials: true });
    const plain = await pipeline.generate(requests);
    expect(plain[0].partials).toBeUndefined();
    // The same generator with its lower-resolution images exposed (img_res_*), postprocessed on the host.
    const m = pipeline.manifest;
    const config = generatorPreset('aurora-tiny');
    const built = buildGenerator(config, randomProvider(0x7a11), { exposeIntermediates: true });
    const generator = await GeneratorSession.create(ortNode, encodeModel(built.graph).model, {
      clipWidth: config.clip_out_dim,
      zDim: config.z_dim,
      numLayers: built.layout.numLayers,
    });
    const encoded = await pipeline.text.encode(requests.map((r) => r.prompt));
    const K = m.sampling.centerCount;
    const centre = sampleCenterLatents(K, config.z_dim);
    const n = requests.length;
    const centerZ = new Float32Array(n * centre.length);
    for (let i = 0; i < n; i++) centerZ.set(centre, i * centre.length);
    const names = m.serving?.partials.map((r) => `img_res_${r}x${r}`) ?? [];
    const raw = await generator.run(
      {
        textTokens: encoded.tokens,
        eotIndex: encoded.eotIndex,
        z: sampleLatents(
          requests.map((r) => r.seed),
          config.z_dim,
        ),
        psi: requests.map((r) => r.psi ?? m.sampling.defaultPsi),
        center: { count: K, z: centerZ, use: [true, true, true] },
      },
      names,
    );
    withPartials.forEach((img, i) => {
      expect(Buffer.from(img.png).equals(Buffer.from(plain[i].png))).toBe(true);
      expect(img.partials?.map((p) => [p.width, p.height])).toEqual([
        [4, 4],
        [8, 8],
        [16, 16],
        [32, 32],
      ]);
      img.partials?.forEach((p, j) => {
        const expected = toUint8Image(raw[names[j]].data as Float32Array, [n, 3, p.height, p.width])[i];
        const s = parityStats(p.pixels ?? new Uint8Array(0), expected);
        // Exposing intermediates changes onnxruntime's fusions, so float noise may move a rounding boundary.
        expect(withinParity(s) && s.fraction > 0.99, `${names[j]} of image ${i}: ${JSON.stringify(s)}`).toBe(true);
        expect(Buffer.from(decodePng(p.png).pixels).equals(Buffer.from(p.pixels ?? []))).toBe(true);
      });
    });
    // A bundle without the serving graph has no partial images to give.
    const before = await nodeOf(old);
    expect((await before.generate(requests.slice(0, 1), { partials: true }))[0].partials).toEqual([]);
  });

  it('ServingSession runs the graph on raw tensors (serving-gpu.onnx, the grouped MoE, within the parity bound) and checks their sizes', async () => {
    const source = readBundleDir(dir);
    const pipeline = await nodeOf(dir);
    const [cpu, gpu] = await Promise.all([
      ServingSession.load(ortNode, source, { preferPaths: true }),
      ServingSession.load(ortNode, source, { preferPaths: true, generatorGraph: 'gpu' }),
    ]);
    const n = REQUESTS.length;
    const inputIds = new Int32Array(n * 77);
    REQUESTS.forEach((r, i) => inputIds.set(pipeline.validate(r), i * 77));
    const batch = {
      inputIds,
      z: sampleLatents(
        REQUESTS.map((r) => r.seed),
        32,
      ),
      psi: Float32Array.from(REQUESTS, (r) => r.psi ?? 0.7),
      batch: n,
    };
    const out = await cpu.run({ ...batch, partials: true });
    expect(out.dims).toEqual([n, 64, 64, 3]);
    expect(out.partials?.map((p) => [p.res, ...p.dims])).toEqual([4, 8, 16, 32].map((r) => [r, n, r, r, 3]));
    const images = await pipeline.generate(REQUESTS);
    images.forEach((img, i) =>
      expect(Buffer.from(out.images.subarray(i * img.pixels.length, (i + 1) * img.pixels.length)).equals(Buffer.from(img.pixels))).toBe(true),
    );
    const grouped = await gpu.run(batch);
    expect(grouped.partials).toBeUndefined();
    expect(withinParity(parityStats(grouped.images, out.images))).toBe(true);
    await expect(cpu.run({ ...batch, batch: n + 1 })).rejects.toThrow(/input_ids: expected/);
    await expect(cpu.run({ ...batch, psi: new Float32Array(1) })).rejects.toThrow(/psi: expected/);
    await expect(ServingSession.load(ortNode, readBundleDir(old))).rejects.toThrow(/aurora upgrade/);
  });

  it.each(SERVING_FILES)('AuroraPipeline.load and ServingSession.load refuse a bundle whose %s is damaged', async (name) => {
    const damaged = tinyBundleDir();
    zeroFourBytes(damaged, name);
    const generatorGraph = name === 'serving-gpu.onnx' ? 'gpu' : 'default';
    await expect(ServingSession.load(ortNode, readBundleDir(damaged), { preferPaths: true, generatorGraph })).rejects.toThrow(
      new RegExp(`${name.replace(/\./g, '\\.')} is corrupt`),
    );
    await expect(AuroraPipeline.load(ortNode, readBundleDir(damaged), { preferPaths: false, generatorGraph })).rejects.toThrow(BundleError);
  });
});

describe('aurora upgrade adds the serving graph', () => {
  it('to an older bundle, with the bytes a fresh build has, every other file as it was', () => {
    const fresh = tinyBundleDir();
    const old = withoutServing(tinyBundleDir());
    const before = new Map(
      fs
        .readdirSync(old)
        .filter((f) => f !== 'manifest.json')
        .map((f) => [f, fs.readFileSync(path.join(old, f))]),
    );
    expect(upgradeBundleDir(old).added).toEqual(SERVING_FILES);
    for (const f of [...SERVING_FILES, 'manifest.json']) expect(fs.readFileSync(path.join(old, f)).equals(fs.readFileSync(path.join(fresh, f))), f).toBe(true);
    for (const [f, bytes] of before) expect(fs.readFileSync(path.join(old, f)).equals(bytes), f).toBe(true);
    expect(upgradeBundleDir(old).added).toEqual([]);
  });

  it('refuses when the text encoder it reads the weights from was tampered with', () => {
    const old = withoutServing(tinyBundleDir());
    zeroFourBytes(old, 'text-encoder.onnx.data');
    expect(() => upgradeBundleDir(old)).toThrow(/text-encoder\.onnx\.data does not match/);
    expect(fs.existsSync(path.join(old, 'serving.onnx'))).toBe(false);
  });

  it('the committed aurora-shapes bundle has it', () => {
    const m = readBundleDir(path.resolve(import.meta.dirname, '../../../models/aurora-shapes')).manifest;
    expect(m.serving?.graph).toBe('serving.onnx');
    expect(m.serving?.partials).toEqual([4, 8, 16, 32]);
  });
});
