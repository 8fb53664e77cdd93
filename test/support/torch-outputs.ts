/**
 * The raw outputs of training/tests/make_random_generator.py (little-endian .f32/.i32 files) and
 * the check that a converted bundle reproduces them in onnxruntime-node: the text tower's tokens
 * and EOT indices, then the generator's image from the same z and tokens at psi 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { expect } from 'vitest';
import { maxAbsDiff } from '../../packages/model/src/conform/compare.ts';
import type { BundleSource } from '../../packages/model/src/bundle/bundle.ts';
import { createGraphSession } from '../../packages/model/src/pipeline/sessions.ts';
import { GeneratorSession } from '../../packages/model/src/runtime/generator-session.ts';

const ort = ortNode;

export function floats(file: string): Float32Array {
  return new Float32Array(new Uint8Array(fs.readFileSync(file)).buffer);
}

export function ints(file: string): Int32Array {
  return new Int32Array(new Uint8Array(fs.readFileSync(file)).buffer);
}

/**
 * Runs `bundle`'s text encoder and generator on the `n` samples that make_random_generator.py
 * wrote to `io` and expects PyTorch's results within 1e-4: the CLIP graph's ln_final tokens and
 * EOT indices on the same token ids, then the image from the same z and text tokens at psi 1.
 * The images must also not be a trivially equal pair: samples 0 and 1 differ by more than
 * `minSampleDiff`.
 */
export async function expectBundleMatchesTorch(
  bundle: BundleSource,
  io: string,
  n: number,
  shape: { clipWidth: number; zDim: number },
  minSampleDiff: number,
): Promise<void> {
  const m = bundle.manifest;
  // The text tower: our CLIP graph on the same token ids gives the PyTorch tower's ln_final tokens.
  const ids = BigInt64Array.from(ints(path.join(io, 'token_ids.i32')), (v) => BigInt(v));
  const text = await createGraphSession(ort, bundle, m.textEncoder, { preferPaths: true });
  const encoded = await text.run({ token_ids: new ort.Tensor('int64', ids, [n, 77]) });
  const tokens = floats(path.join(io, 'clip_tokens.f32'));
  expect(maxAbsDiff(tokens, encoded.text_tokens.data as Float32Array)).toBeLessThanOrEqual(1e-4);
  const eot = Array.from(ints(path.join(io, 'eot_ind.i32')));
  expect(Array.from(encoded.eot_index.data as BigInt64Array, Number)).toEqual(eot);

  // The generator: same z and text tokens, psi 1.
  const generator = GeneratorSession.wrap(ort, await createGraphSession(ort, bundle, m.generator, { preferPaths: true }), {
    clipWidth: shape.clipWidth,
    zDim: shape.zDim,
    numLayers: m.generator.numLayers,
  });
  const result = await generator.run({ textTokens: tokens, eotIndex: eot, z: floats(path.join(io, 'z.f32')), psi: new Array(n).fill(1) });
  const expected = floats(path.join(io, 'image.f32'));
  const image = result.image.data as Float32Array;
  expect(image.length).toBe(expected.length);
  expect(maxAbsDiff(expected, image)).toBeLessThanOrEqual(1e-4);
  const perSample = expected.length / n;
  expect(maxAbsDiff(expected.subarray(0, perSample), expected.subarray(perSample, 2 * perSample))).toBeGreaterThan(minSampleDiff);
}
