import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type GeneratorConfigInput, parseGeneratorConfig } from '../src/config/generator-config.ts';
import { buildGenerator } from '../src/generator/generator.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { randomProvider } from '../src/onnx/providers.ts';
import { GeneratorSession } from '../src/runtime/generator-session.ts';
import { sampleLatents } from '../src/sampling/latent.ts';
import { SMALL_32 } from './support/small-config.ts';

const BASE = SMALL_32;

const VARIANTS: Record<string, Partial<GeneratorConfigInput>> = {
  'paper code paths (base)': {},
  'use_w_cond': { use_w_cond: true },
  'repeat_w off': { repeat_w: false },
  'no demodulation, no wscale': { demodulate: false, use_wscale: false },
  'const input, no MTM': { fourier_feat: false, mtm: false },
  'dot attention, tied qk, scale_in': { l2_attention: false, tie: true, scale_in: true },
  'GLU experts, dense FFN at 8': { glu: true, num_experts: { 8: 1, 16: 2, 32: 3 } },
  'no skip, no FFN, tanh output': { skip_connection: false, include_ff: false, final_tanh: true },
  'no text-head blocks, no z/text norm': { num_layers_text_enc: 0, normalize_z: false, normalize_text_cond: false },
  'head_dim from channels': { head_dim: null, num_heads: 2 },
  'images only up to 16x16': { ms_training_res: ['4', '8', '16'] },
  'conv_clamp': { conv_clamp: 0.05 },
};

describe('every generator code path builds, runs and keeps samples independent', () => {
  for (const [name, change] of Object.entries(VARIANTS)) {
    it(name, async () => {
      const config = parseGeneratorConfig({ ...BASE, ...change });
      const built = buildGenerator(config, randomProvider(3));
      const session = await GeneratorSession.create(ortNode, encodeModel(built.graph).model, {
        clipWidth: config.clip_out_dim,
        zDim: config.z_dim,
        numLayers: built.layout.numLayers,
      });
      const text = Float32Array.from({ length: 2 * 77 * config.clip_out_dim }, (_, i) => Math.sin(i));
      const batch = { textTokens: text, eotIndex: [4, 9], z: sampleLatents([1, 2], config.z_dim), psi: [0.7, 1] };
      const both = (await session.run(batch)).image;
      const first = (await session.run({ ...batch, textTokens: text.subarray(0, 77 * config.clip_out_dim), eotIndex: [4], z: batch.z.subarray(0, config.z_dim), psi: [0.7] })).image;
      const data = both.data as Float32Array;
      expect(data.every(Number.isFinite)).toBe(true);
      const lastRes = Math.max(...config.ms_training_res.map(Number));
      expect(both.dims).toEqual([2, 3, lastRes, lastRes]);
      const one = first.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(one[i] - data[i]));
      expect(worst).toBeLessThanOrEqual(1e-5);
      // conv_clamp bounds the toRGB outputs; with skip connections the image sums one per scale.
      const peak = Math.max(...data.map(Math.abs));
      if (config.conv_clamp !== null) expect(peak).toBeLessThanOrEqual(config.conv_clamp * config.ms_training_res.length + 1e-6);
      else expect(peak).toBeGreaterThan(0.2); // so the clamp case above is a real bound
    });
  }
});
