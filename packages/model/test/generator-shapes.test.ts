import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGeneratorConfig } from '../src/config/generator-config.ts';
import { generatorPreset } from '../src/config/presets.ts';
import { buildGenerator } from '../src/generator/generator.ts';
import { checkpointProvider, shapeOnlyProvider } from '../src/onnx/providers.ts';
import { createTensor } from '../src/weights/index.ts';
import { HAS_REFERENCE, REFERENCE_DIR } from './support/reference.ts';

interface ParamShapes {
  total_parameters: number;
  parameters: Record<string, number[]>;
  buffers: Record<string, number[]>;
  state_dict_keys_in_order: string[];
  generator_derived: { num_layers: number };
}

describe.skipIf(!HAS_REFERENCE)('aurora-v1 preset against the paper model', () => {
  const ref = HAS_REFERENCE ? (JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, 'paper-shape/param_shapes.json'), 'utf8')) as ParamShapes) : null;

  it('declares exactly the state-dict keys and shapes of the official checkpoint', () => {
    if (!ref) return;
    const built = buildGenerator(generatorPreset('aurora-v1'), shapeOnlyProvider());
    const ours = built.params.stateDictShapes();
    expect([...ours.keys()].sort()).toEqual([...ref.state_dict_keys_in_order].sort());
    const shapes = { ...ref.parameters, ...ref.buffers };
    for (const [key, shape] of Object.entries(shapes)) expect(ours.get(key), key).toEqual(shape);
    // Keys torch lists twice (text-head mlp.c_fc == c_fc) are aliases: same shape as their twin.
    expect(ours.get('text_head.transformer.res_blocks.0.mlp.c_fc.weight')).toEqual(shapes['text_head.transformer.res_blocks.0.c_fc.weight']);
    expect(built.params.parameterCount()).toBe(ref.total_parameters);
    expect(built.layout.numLayers).toBe(ref.generator_derived.num_layers);
  });
});

describe('aurora-tiny preset', () => {
  it('keeps every paper code path and stays small enough for a Worker', () => {
    const config = generatorPreset('aurora-tiny');
    expect(config).toMatchObject({ resolution: 64, mtm: true, fourier_feat: true, l2_attention: true, tie: false, scale_in: false, glu: false, skip_connection: true });
    expect(Object.values(config.num_experts).some((e) => e >= 2)).toBe(true);
    const params = buildGenerator(config, shapeOnlyProvider()).params.parameterCount();
    expect(params).toBeLessThan(2_500_000);
  });
});

describe('config and checkpoint errors', () => {
  it('names every invalid config field', () => {
    expect(() => parseGeneratorConfig({ resolution: 48, num_adaptive_kernels: {}, num_block_per_res: {}, mask_self: true })).toThrow(
      /resolution[\s\S]*num_adaptive_kernels\.4[\s\S]*mask_self/,
    );
  });

  it('reports every missing, unexpected and mis-shaped tensor at once', () => {
    const config = generatorPreset('aurora-tiny');
    const declared = buildGenerator(config, shapeOnlyProvider()).params.stateDictShapes();
    const tensor = (shape: number[]) => createTensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
    const sd = new Map([...declared].map(([k, shape]) => [k, tensor(shape)]));
    sd.delete('mapping.dense0.weight');
    sd.set('mapping.extra.weight', tensor([2]));
    sd.set('w_avg', tensor([3]));
    expect(() => buildGenerator(config, checkpointProvider(sd))).toThrow(
      /1 missing, 1 unexpected, 1 mis-shaped\nmissing \(1\):\n  mapping\.dense0\.weight \[64, ?96\]\nunexpected \(1\):\n  mapping\.extra\.weight \[2\]\nmis-shaped \(1\):\n  w_avg: expected \[64\] got \[3\]/,
    );
  });
});
