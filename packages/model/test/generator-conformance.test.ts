import * as fs from 'node:fs';
import * as path from 'node:path';
import ortNode from 'onnxruntime-node';
import { loadOrtWasm } from '../src/node/ort-node.ts';
import { describe, expect, it } from 'vitest';
import { parseGeneratorConfig } from '../src/config/generator-config.ts';
import { formatResult, maxAbsDiff } from '../src/conform/compare.ts';
import { buildGenerator } from '../src/generator/generator.ts';
import { conformGenerator } from '../src/node/conform-generator.ts';
import { FixtureDir } from '../src/node/fixture-dir.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { checkpointProvider } from '../src/onnx/providers.ts';
import { GeneratorSession } from '../src/runtime/generator-session.ts';
import { readGeneratorStateDict, toFloat32 } from '../src/weights/index.ts';
import { generatorCases, HAS_REFERENCE, REFERENCE_DIR } from './support/reference.ts';

const ortWeb = await loadOrtWasm();
const node = ortNode;
const web = ortWeb;

function loadCase(name: string) {
  const fx = new FixtureDir(path.join(REFERENCE_DIR, name));
  const config = parseGeneratorConfig(fx.json<{ generator: unknown }>('config.json').generator);
  const sd = readGeneratorStateDict(new Uint8Array(fs.readFileSync(fx.file('generator.pth'))));
  const built = buildGenerator(config, checkpointProvider(new Map([...sd].map(([k, t]) => [k, toFloat32(t)]))));
  const model = encodeModel(built.graph).model;
  const shape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers };
  const batch = {
    textTokens: fx.floats('inputs/clip_tokens.f32'),
    eotIndex: fx.ints('inputs/eot_ind.i32'),
    z: fx.floats('inputs/z.f32'),
    psi: fx.ints('inputs/eot_ind.i32').map(() => 0.7),
  };
  return { fx, config, model, shape, batch };
}

describe.skipIf(!HAS_REFERENCE)('generator conformance with the PyTorch reference', () => {
  for (const name of generatorCases()) {
    it(`${name}: every stored intermediate within tolerance`, async () => {
      const results = await conformGenerator(node, new FixtureDir(path.join(REFERENCE_DIR, name)));
      const failures = results.filter((r) => !r.ok).map(formatResult);
      expect(results.length).toBeGreaterThan(20);
      expect(failures).toEqual([]);
    });

    it(`${name}: the same graph bytes agree in onnxruntime-web (WASM) and onnxruntime-node`, async () => {
      const { fx, model, shape, batch } = loadCase(name);
      const [a, b] = await Promise.all([node, web].map(async (ort) => (await (await GeneratorSession.create(ort, model, shape)).run(batch)).image.data as Float32Array));
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(fx.floats('outputs/psi_0.7/image.f32'), b)).toBeLessThanOrEqual(1e-4);
    });

    it(`${name}: a sample's image does not depend on the rest of its batch`, async () => {
      const { config, model, shape, batch } = loadCase(name);
      const session = await GeneratorSession.create(node, model, shape);
      const together = (await session.run(batch)).image.data as Float32Array;
      const per = (together.length / batch.eotIndex.length) | 0;
      for (let i = 0; i < batch.eotIndex.length; i++) {
        const t = 77 * config.clip_out_dim;
        const alone = await session.run({
          textTokens: batch.textTokens.subarray(i * t, (i + 1) * t),
          eotIndex: [batch.eotIndex[i]],
          z: batch.z.subarray(i * config.z_dim, (i + 1) * config.z_dim),
          psi: [0.7],
        });
        expect(maxAbsDiff(together.subarray(i * per, (i + 1) * per), alone.image.data as Float32Array)).toBeLessThanOrEqual(1e-5);
      }
    });
  }
});
