/**
 * A sample's image must be bit-identical whether it runs alone or in a batch (docs/model.md,
 * "Conformance"), including the serving path's text-conditional centre. Found at paper scale
 * (aurora-v1, generate --n 3): the centre's mean over its K codes was a ReduceMean over a middle
 * axis, which onnxruntime sums in another order when the batch is 1, so one PNG sample moved by 1.
 */
import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { generatorPreset } from '../src/config/presets.ts';
import { buildGenerator } from '../src/generator/generator.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { randomProvider } from '../src/onnx/providers.ts';
import { GeneratorSession } from '../src/runtime/generator-session.ts';

const ort = ortNode;

const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe('generator batch invariance', () => {
  // Every MoE formulation: bundles carry the sparse graph (CPU, WASM) and the grouped one (GPUs).
  it.each(['sparse', 'grouped'] as const)('MoE %s: with the text-conditional centre, every output of a sample is bit-identical alone and in a batch of 3', async (moe) => {
    const config = generatorPreset('aurora-tiny');
    const built = buildGenerator(config, randomProvider(5), { exposeIntermediates: true, moe });
    const L = built.layout.numLayers;
    const session = await GeneratorSession.create(ort, encodeModel(built.graph).model, { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: L });
    const n = 3;
    const K = 16;
    const T = 77 * config.clip_out_dim;
    const textTokens = Float32Array.from({ length: n * T }, (_, i) => Math.sin(i * 0.61) * 2);
    const z = Float32Array.from({ length: n * config.z_dim }, (_, i) => Math.cos(i * 2.9) * 1.5);
    const centerZ = Float32Array.from({ length: n * K * config.z_dim }, (_, i) => Math.sin(i * 0.17 + 1));
    const eotIndex = [3, 40, 76];
    const names = ['image', 'center_wp', 'wp'];
    const together = await session.run({ textTokens, eotIndex, z, psi: [0.7, 0.5, 1], center: { count: K, z: centerZ, use: [true, true, true] } }, names);
    for (let i = 0; i < n; i++) {
      const slice = (x: Float32Array, size: number) => x.subarray(i * size, (i + 1) * size);
      const alone = await session.run(
        {
          textTokens: slice(textTokens, T),
          eotIndex: [eotIndex[i]],
          z: slice(z, config.z_dim),
          psi: [[0.7, 0.5, 1][i]],
          center: { count: K, z: slice(centerZ, K * config.z_dim), use: [true] },
        },
        names,
      );
      for (const name of names) {
        const a = alone[name].data as Float32Array;
        expect(bits(slice(together[name].data as Float32Array, a.length)).equals(bits(a)), `sample ${i} ${name}`).toBe(true);
      }
    }
  });
});
