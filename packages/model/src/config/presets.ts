import { type GeneratorConfig, type GeneratorConfigInput, parseGeneratorConfig } from './generator-config.ts';

/** The paper model: the g_config of the reference run_synthesize.py (num_heads and glu at their defaults). */
const AURORA_V1: GeneratorConfigInput = {
  resolution: 64, image_channels: 3, init_res: 4, z_dim: 128, w_dim: 1024, mapping_fmaps: 1024, label_dim: 0,
  context_dim: 1024, clip_out_dim: 768, head_dim: 64, embedding_dim: 1024, use_text_cond: true, num_layers_text_enc: 4,
  use_w_cond: false, use_class_label: false, mapping_layers: 4, fmaps_base: 16384, fmaps_max: 1600,
  num_adaptive_kernels: { 4: 1, 8: 1, 16: 2, 32: 4, 64: 8 },
  num_block_per_res: { 4: 3, 8: 3, 16: 3, 32: 2, 64: 2 },
  attn_resolutions: ['8', '16', '32', '64'],
  attn_depth: { 8: 2, 16: 2, 32: 2, 64: 1 },
  attn_ch_factor: 1, attn_gain: 0.3, residual_gain: 0.4, text_head_gain: 1.0, zero_out: true, fourier_feat: true,
  l2_attention: true, tie: false, scale_in: false, include_ff: true, use_checkpoint: false,
  checkpoint_res: ['8', '16', '32'], mask_self: false, conv_clamp: null, mtm: true,
  num_experts: { 8: 4, 16: 8, 32: 16, 64: 16 },
  ms_training_res: ['4', '8', '16', '32', '64'], skip_connection: true,
};

/**
 * A small model with every paper code path on (Fourier input, MTM, L2 attention with untied
 * q/k, scale_in off, GEGLU, sparse MoE, adaptive kernels, skip toRGB, text-head align_dim),
 * sized for a Cloudflare Worker: 64x64 output and about 2 M generator parameters. Attention
 * stops at 32x32 because a 64x64 self-attention map alone would take 64 MB per head.
 */
const AURORA_TINY: GeneratorConfigInput = {
  resolution: 64, image_channels: 3, init_res: 4, z_dim: 32, w_dim: 64, mapping_fmaps: 64, label_dim: 0,
  context_dim: 64, clip_out_dim: 32, head_dim: 16, num_heads: 4, embedding_dim: 64, use_text_cond: true,
  num_layers_text_enc: 1, use_w_cond: false, use_class_label: false, mapping_layers: 2, fmaps_base: 2048, fmaps_max: 64,
  num_adaptive_kernels: { 4: 1, 8: 2, 16: 2, 32: 4, 64: 4 },
  num_block_per_res: { 4: 1, 8: 2, 16: 1, 32: 1, 64: 1 },
  attn_resolutions: ['8', '16', '32'],
  attn_depth: { 8: 1, 16: 1, 32: 1 },
  attn_ch_factor: 1, attn_gain: 0.3, residual_gain: 0.4, text_head_gain: 1.0, zero_out: true, fourier_feat: true,
  l2_attention: true, tie: false, scale_in: false, include_ff: true, glu: false, use_checkpoint: false,
  mask_self: false, conv_clamp: null, mtm: true,
  num_experts: { 8: 2, 16: 4, 32: 4 },
  ms_training_res: ['4', '8', '16', '32', '64'], skip_connection: true,
};

/**
 * The trained default (issue: a default model that follows its prompt): aurora-tiny's code paths
 * (Fourier input, MTM, L2 attention, GEGLU-free sparse MoE, adaptive kernels, skip toRGB) with
 * attention and MoE only at 8x8 and 16x16, so a GAN step stays cheap enough to train in minutes
 * on one GPU, and wider convs (128 channels up to 32x32) so it has the capacity to draw.
 */
const AURORA_SHAPES: GeneratorConfigInput = {
  resolution: 64, image_channels: 3, init_res: 4, z_dim: 32, w_dim: 128, mapping_fmaps: 128, label_dim: 0,
  context_dim: 64, clip_out_dim: 64, head_dim: 16, num_heads: 4, embedding_dim: 64, use_text_cond: true,
  num_layers_text_enc: 1, use_w_cond: false, use_class_label: false, mapping_layers: 2, fmaps_base: 4096, fmaps_max: 128,
  num_adaptive_kernels: { 4: 1, 8: 2, 16: 2, 32: 2, 64: 2 },
  num_block_per_res: { 4: 1, 8: 1, 16: 1, 32: 1, 64: 1 },
  attn_resolutions: ['8', '16'],
  attn_depth: { 8: 1, 16: 1 },
  attn_ch_factor: 1, attn_gain: 0.3, residual_gain: 0.4, text_head_gain: 1.0, zero_out: true, fourier_feat: true,
  l2_attention: true, tie: false, scale_in: false, include_ff: true, glu: false, use_checkpoint: false,
  mask_self: false, conv_clamp: null, mtm: true,
  num_experts: { 8: 2, 16: 4 },
  ms_training_res: ['4', '8', '16', '32', '64'], skip_connection: true,
};

export const GENERATOR_PRESETS = {
  'aurora-v1': AURORA_V1,
  'aurora-tiny': AURORA_TINY,
  'aurora-shapes': AURORA_SHAPES,
} as const satisfies Record<string, GeneratorConfigInput>;

export type PresetName = keyof typeof GENERATOR_PRESETS;

export function generatorPreset(name: string): GeneratorConfig {
  const preset = (GENERATOR_PRESETS as Record<string, GeneratorConfigInput>)[name];
  if (!preset) throw new RangeError(`unknown model preset "${name}"; known: ${Object.keys(GENERATOR_PRESETS).join(', ')}`);
  return parseGeneratorConfig(preset);
}
