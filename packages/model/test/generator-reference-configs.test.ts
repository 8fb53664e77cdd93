import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { type GeneratorConfigInput, parseGeneratorConfig } from '../src/config/generator-config.ts';
import { maxAbsDiff } from '../src/conform/compare.ts';
import { buildGenerator } from '../src/generator/generator.ts';
import { encodeModel } from '../src/onnx/encode.ts';
import { checkpointProvider, randomProvider, shapeOnlyProvider } from '../src/onnx/providers.ts';
import { GeneratorSession } from '../src/runtime/generator-session.ts';
import { sampleLatents } from '../src/sampling/latent.ts';
import { SMALL_32 } from './support/small-config.ts';
import { createTensor } from '../src/weights/index.ts';

/**
 * Configurations the reference Text2ImageGenerator accepts that our first schema/graph got
 * wrong (found by running the reference on generated fixtures; see docs/model.md, "Conformance").
 */
const BASE = SMALL_32;

async function run(change: Partial<GeneratorConfigInput>, psi: number[], center = false, outputs = ['image', 'wp']) {
  const config = parseGeneratorConfig({ ...BASE, ...change });
  const built = buildGenerator(config, randomProvider(5), { exposeIntermediates: true });
  const shape = { clipWidth: config.clip_out_dim, zDim: config.z_dim, numLayers: built.layout.numLayers };
  const session = await GeneratorSession.create(ortNode, encodeModel(built.graph).model, shape);
  const n = psi.length;
  const k = 3;
  const out = await session.run(
    {
      textTokens: Float32Array.from({ length: n * 77 * config.clip_out_dim }, (_, i) => Math.sin(i)),
      eotIndex: new Array(n).fill(6),
      z: sampleLatents([11, 12].slice(0, n), config.z_dim),
      psi,
      center: { count: k, z: sampleLatents(Array.from({ length: n * k }, (_, i) => 100 + i), config.z_dim), use: new Array(n).fill(center) },
    },
    outputs,
  );
  return { out, numLayers: built.layout.numLayers, config };
}

const floats = (t: { data: unknown }) => t.data as Float32Array;

describe('output layers and wp length follow the reference constructor', () => {
  it('declares output_res_RxR at every resolution, whatever ms_training_res uses', () => {
    // The reference builds an output layer per resolution unconditionally, so its state dict does
    // not depend on ms_training_res; a checkpoint for the full model must load into the short one.
    const keys = (change: Partial<GeneratorConfigInput>) => buildGenerator(parseGeneratorConfig({ ...BASE, ...change }), shapeOnlyProvider()).params.stateDictShapes();
    const full = keys({});
    const short = keys({ ms_training_res: ['4', '8', '16'] });
    expect([...short.keys()].sort()).toEqual([...full.keys()].sort());
    expect(short.get('synthesis.output_res_32x32.weight')).toEqual([2, 3, 32, 1, 1]);
    const tensor = (shape: number[]) => createTensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
    const sd = new Map([...full].map(([k, s]) => [k, tensor(s)]));
    expect(() => buildGenerator(parseGeneratorConfig({ ...BASE, ms_training_res: ['4', '8', '16'] }), checkpointProvider(sd))).not.toThrow();
  });

  it('counts num_block_per_res entries above the resolution in wp, and uses none of them', async () => {
    // Reference num_layers = sum over num_block_per_res keys of blocks * (2 if attention there):
    // 4:1 + 8:1*2 + 16:1*2 + 32:1*2 = 7, and an extra 64:2 with attention adds 4 -> 11.
    const attn = { attn_resolutions: ['8', '16', '32', '64'], attn_depth: { 8: 1, 16: 1, 32: 1, 64: 1 } };
    const plain = await run(attn, [0.7, 1]);
    const extra = await run({ ...attn, num_block_per_res: { 4: 1, 8: 1, 16: 1, 32: 1, 64: 2 } }, [0.7, 1]);
    expect(plain.numLayers).toBe(7);
    expect(extra.numLayers).toBe(11);
    expect(extra.out.wp.dims).toEqual([2, 11, 64]);
    expect(maxAbsDiff(floats(plain.out.image), floats(extra.out.image))).toBe(0);
    const sd = buildGenerator(parseGeneratorConfig({ ...BASE, ...attn, repeat_w: false, num_block_per_res: { 4: 1, 8: 1, 16: 1, 32: 1, 64: 2 } }), shapeOnlyProvider()).params.stateDictShapes();
    expect(sd.get('w_avg')).toEqual([11 * 64]);
    expect(sd.get('mapping.dense1.weight')?.[0]).toBe(11 * 64);
  });
});

describe('attention placement follows the reference string test', () => {
  it('puts no attention where attn_resolutions is left out (its default holds ints) or numeric', () => {
    // SynthesisNetwork tests `str(res) in attn_resolutions`; the default (8, 16, 32) never matches.
    const layout = (change: Partial<GeneratorConfigInput>) => buildGenerator(parseGeneratorConfig({ ...BASE, ...change }), shapeOnlyProvider()).layout;
    for (const attn of [undefined, [8, 16, 32]]) {
      const l = layout({ attn_resolutions: attn });
      expect(l.modules.filter((m) => m.kind === 'attn')).toEqual([]);
      expect(l.numLayers).toBe(4); // one block per resolution, none doubled by attention
    }
    expect(layout({ attn_resolutions: ['8', 16, '32'] }).modules.filter((m) => m.kind === 'attn').map((m) => m.res)).toEqual([8, 32]);
  });
});

describe('truncation psi follows the code path that produced it', () => {
  it('psi >= 1 leaves wp alone without a centre (G.forward truncates only when psi < 1)', async () => {
    const { out } = await run({}, [1.5, 1]);
    const wp = floats(out.wp);
    const half = wp.length / 2;
    // Sample 0 has the same latent in every run below; compare it against its psi = 1 run.
    const ref = floats((await run({}, [1, 1])).out.wp);
    expect(maxAbsDiff(wp.subarray(0, half), ref.subarray(0, half))).toBe(0);
    // psi < 1 still truncates toward w_avg (0 at initialisation here): wp * 0.7.
    const truncated = floats((await run({}, [0.7, 1])).out.wp);
    expect(maxAbsDiff(truncated.subarray(0, half), ref.subarray(0, half).map((v) => v * 0.7))).toBeLessThan(1e-6);
  });

  it('psi > 1 with a centre extrapolates, as run_synthesize lerps unconditionally', async () => {
    const raw = floats((await run({}, [1])).out.wp);
    const { out } = await run({}, [1.5], true, ['wp', 'center_wp']);
    const centre = floats(out.center_wp);
    const got = floats(out.wp);
    // w_avg is 0 here: first 0.lerp(wp, 1.5) = 1.5 wp, then centre.lerp(that, 1.5).
    const expected = raw.map((v, i) => centre[i] + 1.5 * (1.5 * v - centre[i]));
    expect(maxAbsDiff(expected, got)).toBeLessThan(1e-5);
  });
});

describe('config checks match what the reference runs', () => {
  const parse = (change: Partial<GeneratorConfigInput>) => () => parseGeneratorConfig({ ...BASE, ...change });

  it('accepts mask_self where the reference ignores it, rejects it where the reference fails', () => {
    // The reference applies the mask only to l2 logits; there its cross-attention cannot take it.
    expect(parse({ mask_self: true, l2_attention: false })).not.toThrow();
    expect(parse({ mask_self: true, l2_attention: true })).toThrow(/mask_self/);
    expect(parse({ mask_self: true, l2_attention: true, attn_resolutions: [], num_layers_text_enc: 0 })).not.toThrow();
  });

  it('accepts every keyword of the reference Text2ImageGenerator.__init__ (c911413)', () => {
    // The signature's non-class-label keywords with their reference defaults, as a full kwargs dump
    // (e.g. via inspect.signature) would write them into a fixture's config.json.
    const defaults = {
      z_dim: 128, w_dim: 1024, repeat_w: true, normalize_z: true, mapping_layers: 4, mapping_fmaps: 1024, mapping_use_wscale: true,
      mapping_wscale_gain: 1.0, mapping_lr_mul: 0.01, use_class_label: false, label_dim: 0, embedding_dim: 512, embedding_bias: true,
      embedding_use_wscale: true, embedding_wscale_gain: 1.0, embedding_lr_mul: 1.0, normalize_class_embed: true, use_text_cond: true,
      use_w_cond: false, num_layers_text_enc: 4, dropout: 0.0, text_use_wscale: true, text_wscale_gain: 1.0, text_lr_mul: 0.01,
      clip_out_dim: 768, context_dim: 768, normalize_text_cond: true, init_res: 4, image_channels: 3, attn_ch_factor: 1.0,
      mask_self: false, residual_gain: 1.0, attn_gain: 1.0, text_head_gain: 1.0, zero_out: true, final_tanh: false, fourier_feat: true,
      demodulate: true, use_wscale: true, wscale_gain: 1.0, lr_mul: 1.0, fmaps_base: 32 << 9, fmaps_max: 1600, filter_kernel: [1, 3, 3, 1],
      conv_clamp: null, num_heads: 8, head_dim: null, l2_attention: true, tie: true, scale_in: true, include_ff: true, glu: false,
      use_checkpoint: false, checkpoint_res: null, eps: 1e-8, mtm: false, skip_connection: false,
    };
    const config = parseGeneratorConfig({ ...defaults, ...BASE });
    expect(config.embedding_bias).toBe(true);
    // Our defaults are the reference's (so a config that leaves keys out means the same model),
    // except the class-embedding keys, which stay absent.
    const classKeys = ['embedding_bias', 'embedding_use_wscale', 'embedding_wscale_gain', 'embedding_lr_mul', 'normalize_class_embed'];
    const minimal = parseGeneratorConfig({ resolution: 16, num_adaptive_kernels: { 4: 1, 8: 1, 16: 1 }, num_block_per_res: { 4: 1, 8: 1, 16: 1 } });
    expect(minimal).toMatchObject(Object.fromEntries(Object.entries(defaults).filter(([k]) => !classKeys.includes(k))));
    expect(minimal).toMatchObject({ attn_resolutions: [8, 16, 32], attn_depth: {}, num_experts: {}, ms_training_res: ['4', '8', '16', '32', '64'] });
    // Left out, they stay out: parsed configs (and bundle manifests) do not grow.
    expect('embedding_bias' in parseGeneratorConfig(BASE)).toBe(false);
  });

  it('rejects what the reference constructor cannot build', () => {
    expect(parse({ num_block_per_res: { 2: 1, 4: 1, 8: 1, 16: 1, 32: 1 } })).toThrow(/num_block_per_res\.2/);
    expect(parse({ ms_training_res: ['4', '16', '32'] })).toThrow(/skip_connection needs 8/);
    expect(parse({ ms_training_res: ['4', '16', '32'], skip_connection: false })).not.toThrow();
    // SynthesisNetwork asserts len(attn_resolutions) <= number of resolutions and indexes attn_depth.
    expect(parse({ resolution: 8, attn_resolutions: [8, 16, 32] })).toThrow(/attn_resolutions: more entries/);
    expect(parse({ attn_depth: { 8: 1, 16: 1 } })).toThrow(/attn_depth\.32/);
  });
});
