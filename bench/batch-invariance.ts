/**
 * Checks that a sample's outputs are bit-identical whether it runs alone or in a batch (the
 * product caches PNG bytes by request key, so batching must not change a byte), in
 * onnxruntime-node and onnxruntime-web, for a preset with random weights. Lists the first
 * intermediate (in graph order) that differs.
 *   tsx bench/batch-invariance.ts [preset | path/to/config.json]
 */
import * as fs from 'node:fs';
import ortNode from 'onnxruntime-node';
import { parseGeneratorConfig } from '../packages/model/src/config/generator-config.ts';
import { generatorPreset } from '../packages/model/src/config/presets.ts';
import { buildGenerator } from '../packages/model/src/generator/generator.ts';
import { loadOrtWasm } from '../packages/model/src/node/ort-node.ts';
import { encodeModel } from '../packages/model/src/onnx/encode.ts';
import { randomProvider } from '../packages/model/src/onnx/providers.ts';
import { GeneratorSession } from '../packages/model/src/runtime/generator-session.ts';
import { syntheticBatch } from './common.ts';

const ortWeb = await loadOrtWasm();
const arg = process.argv[2] ?? 'aurora-tiny';
// A preset name, or a fixture folder's config.json ({ generator: {...} }).
const config = arg.endsWith('.json') ? parseGeneratorConfig((JSON.parse(fs.readFileSync(arg, 'utf8')) as { generator: unknown }).generator) : generatorPreset(arg);
const built = buildGenerator(config, randomProvider(1), { exposeIntermediates: true });
const model = encodeModel(built.graph).model;
const shape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers };
const names = built.graph.outputs.map((o) => o.name).filter((n) => !n.startsWith('router/') && n !== 'center_wp' && n !== 'wp_toward_avg');
let bad = 0;
for (const [runtime, ort] of [['node', ortNode], ['web', ortWeb]] as const) {
  const session = await GeneratorSession.create(ort, model, shape);
  const full = syntheticBatch(shape, 8, 3);
  const per = (n: number) => ({
    ...full,
    textTokens: full.textTokens.subarray(0, n * 77 * shape.clipWidth),
    eotIndex: full.eotIndex.slice(0, n),
    z: full.z.subarray(0, n * shape.zDim),
    psi: full.psi.slice(0, n),
  });
  const alone = await session.run(per(1), names);
  for (const n of [2, 8]) {
    const together = await session.run(per(n), names);
    const differing: string[] = [];
    for (const name of names) {
      const a = alone[name].data as Float32Array;
      const b = (together[name].data as Float32Array).subarray(0, a.length);
      let count = 0;
      let max = 0;
      for (let i = 0; i < a.length; i++) {
        if (a[i] !== b[i]) count++;
        max = Math.max(max, Math.abs(a[i] - b[i]));
      }
      if (count) differing.push(`${name} (${count}/${a.length}, max ${max.toExponential(1)})`);
    }
    if (differing.length) bad++;
    console.log(`${runtime}: alone vs batch of ${n}: ${differing.length ? `differ: ${differing.slice(0, 4).join(', ')}${differing.length > 4 ? ', ...' : ''}` : 'bit-identical'}`);
  }
}
process.exitCode = bad ? 1 : 0;
