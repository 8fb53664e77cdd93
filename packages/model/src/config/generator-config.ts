import { z } from 'zod';

/** Resolution-keyed maps use string keys, exactly as the reference g_config does ({"4": 1, ...}). */
const perRes = z.record(z.string().regex(/^\d+$/), z.number().int());

/**
 * The reference `Text2ImageGenerator` keyword arguments (models/text_generator.py), with the
 * reference defaults. Keys are the reference's own, so a g_config dict parses unchanged.
 */
export const generatorConfigSchema = z
  .object({
    // Mapping network.
    z_dim: z.number().int().positive().default(128),
    w_dim: z.number().int().positive().default(1024),
    repeat_w: z.boolean().default(true),
    normalize_z: z.boolean().default(true),
    mapping_layers: z.number().int().positive().default(4),
    mapping_fmaps: z.number().int().positive().default(1024),
    mapping_use_wscale: z.boolean().default(true),
    mapping_wscale_gain: z.number().default(1.0),
    mapping_lr_mul: z.number().positive().default(0.01),
    // Class-label conditioning is not supported by the text-to-image generator we serve.
    use_class_label: z.literal(false).default(false),
    label_dim: z.literal(0).default(0),
    embedding_dim: z.number().int().default(512),
    // The class-embedding layer's settings: accepted so a full reference kwargs dump parses, but
    // that layer exists only with use_class_label, so they change nothing. They get no default:
    // a parsed config (and so a bundle's hash) holds them only when the input did.
    embedding_bias: z.boolean().optional(),
    embedding_use_wscale: z.boolean().optional(),
    embedding_wscale_gain: z.number().optional(),
    embedding_lr_mul: z.number().optional(),
    normalize_class_embed: z.boolean().optional(),
    // Text conditioning.
    use_text_cond: z.literal(true).default(true),
    use_w_cond: z.boolean().default(false),
    num_layers_text_enc: z.number().int().nonnegative().default(4),
    dropout: z.number().default(0.0),
    text_use_wscale: z.boolean().default(true),
    text_wscale_gain: z.number().default(1.0),
    text_lr_mul: z.number().positive().default(0.01),
    clip_out_dim: z.number().int().positive().default(768),
    context_dim: z.number().int().positive().default(768),
    normalize_text_cond: z.boolean().default(true),
    // Synthesis network.
    resolution: z.number().int(),
    init_res: z.number().int().positive().default(4),
    image_channels: z.number().int().positive().default(3),
    num_adaptive_kernels: perRes,
    num_block_per_res: perRes,
    // The reference tests `str(res) in attn_resolutions`, so only string entries place attention;
    // its default (8, 16, 32) holds ints and therefore places none. Both are kept as given.
    attn_resolutions: z.array(z.union([z.string(), z.number()])).nullable().default([8, 16, 32]),
    attn_depth: perRes.default({}),
    attn_ch_factor: z.number().default(1.0),
    mask_self: z.boolean().default(false),
    residual_gain: z.number().default(1.0),
    attn_gain: z.number().default(1.0),
    text_head_gain: z.number().default(1.0),
    zero_out: z.boolean().default(true),
    final_tanh: z.boolean().default(false),
    fourier_feat: z.boolean().default(true),
    demodulate: z.boolean().default(true),
    use_wscale: z.boolean().default(true),
    wscale_gain: z.number().default(1.0),
    lr_mul: z.number().positive().default(1.0),
    fmaps_base: z.number().int().positive().default(32 << 9),
    fmaps_max: z.number().int().positive().default(1600),
    filter_kernel: z.array(z.number()).default([1, 3, 3, 1]),
    /** fp16-training aid: clamps conv outputs to [-conv_clamp, conv_clamp] (null: off). */
    conv_clamp: z.number().positive().nullable().default(null),
    num_heads: z.number().int().positive().default(8),
    head_dim: z.number().int().positive().nullable().default(null),
    l2_attention: z.boolean().default(true),
    tie: z.boolean().default(true),
    scale_in: z.boolean().default(true),
    include_ff: z.boolean().default(true),
    glu: z.boolean().default(false),
    use_checkpoint: z.boolean().default(false),
    checkpoint_res: z.array(z.union([z.string(), z.number()])).nullable().default(null),
    eps: z.number().positive().default(1e-8),
    mtm: z.boolean().default(false),
    num_experts: perRes.default({}),
    ms_training_res: z.array(z.string()).default(['4', '8', '16', '32', '64']),
    skip_connection: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    const allowed = [8, 16, 32, 64, 128, 256, 512, 1024];
    if (!allowed.includes(c.resolution)) {
      ctx.addIssue({ code: 'custom', path: ['resolution'], message: `must be one of ${allowed.join(', ')}` });
    }
    const levels: number[] = [];
    for (let r = c.init_res; r <= c.resolution; r *= 2) levels.push(r);
    for (const r of levels) {
      for (const key of ['num_adaptive_kernels', 'num_block_per_res'] as const) {
        if (c[key][String(r)] === undefined) {
          ctx.addIssue({ code: 'custom', path: [key, String(r)], message: `missing an entry for resolution ${r}` });
        }
      }
    }
    for (const key of Object.keys(c.num_block_per_res)) {
      // Entries above the resolution only lengthen wp (see layout.ts); any other entry would shift
      // the reference's layer ids away from the modules it builds.
      if (!levels.includes(Number(key)) && !(Number(key) > c.resolution)) {
        ctx.addIssue({ code: 'custom', path: ['num_block_per_res', key], message: `${key} is not a resolution from init_res ${c.init_res} up` });
      }
    }
    const attnRes = attentionResolutions(c);
    if ((c.attn_resolutions ?? Object.keys(c.attn_depth)).length > levels.length) {
      // SynthesisNetwork asserts this (counting every entry, strings or not).
      ctx.addIssue({ code: 'custom', path: ['attn_resolutions'], message: `more entries than the ${levels.length} resolutions` });
    }
    for (const r of levels.filter((l) => attnRes.includes(String(l)) && c.attn_depth[String(l)] === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['attn_depth', String(r)], message: `missing for attention resolution ${r}` });
    }
    const hasAttention = c.num_layers_text_enc > 0 || levels.some((r) => attnRes.includes(String(r)) && (c.num_block_per_res[String(r)] ?? 0) > 0);
    if (c.mask_self && c.l2_attention && hasAttention) {
      // The reference masks only l2 logits, with a T x T diagonal: the cross-attention fails on it
      // and the text head's single-prompt attention becomes NaN. Without l2 the mask is ignored.
      ctx.addIssue({ code: 'custom', path: ['mask_self'], message: 'mask_self=true with l2_attention does not run in the reference generator' });
    }
    if (c.skip_connection) {
      // The skip sum upsamples the previous scale's image 2x: every scale up to the last must be output.
      const top = Math.min(c.resolution, Math.max(...c.ms_training_res.map(Number)));
      for (const r of levels.filter((l) => l <= top && !c.ms_training_res.includes(String(l)))) {
        ctx.addIssue({ code: 'custom', path: ['ms_training_res'], message: `skip_connection needs ${r} in ms_training_res (up to ${top})` });
      }
    }
  });

/**
 * Resolutions (as the reference's string keys) that get a ResidualAttnBlock: attn_resolutions, or
 * attn_depth's keys when it is null. Numeric entries never match the reference's `str(res)` test.
 */
export function attentionResolutions(c: Pick<GeneratorConfig, 'attn_resolutions' | 'attn_depth'>): string[] {
  return (c.attn_resolutions ?? Object.keys(c.attn_depth)).filter((r): r is string => typeof r === 'string');
}

export type GeneratorConfigInput = z.input<typeof generatorConfigSchema>;
export type GeneratorConfig = z.output<typeof generatorConfigSchema>;

export function parseGeneratorConfig(input: unknown): GeneratorConfig {
  const result = generatorConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RangeError(`invalid generator config:\n${lines.join('\n')}`);
  }
  return result.data;
}
