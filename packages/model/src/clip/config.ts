import { z } from 'zod';
import { CLIP_CONTEXT_LENGTH } from './context-length.ts';

export { CLIP_CONTEXT_LENGTH };

/**
 * The OpenAI-layout CLIP text tower (reference models/clip_model.py, `CLIPTextCfg` plus the
 * `embed_dim` of `CLIP`). The MLP ratio (4), QuickGELU, LayerNorm eps 1e-5 and the causal mask
 * are fixed by that layout, so they are not options here.
 */
export const clipTextConfigSchema = z
  .object({
    // Fixed: the positional table, the tokenizer and the generator's text_tokens input all use 77.
    contextLength: z.literal(CLIP_CONTEXT_LENGTH).default(CLIP_CONTEXT_LENGTH),
    vocabSize: z.number().int().positive(),
    width: z.number().int().positive(),
    heads: z.number().int().positive(),
    layers: z.number().int().positive(),
    /** Columns of `text_projection`: the size of the pooled feature. */
    embedDim: z.number().int().positive(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.width % c.heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['heads'], message: `width ${c.width} is not divisible into ${c.heads} heads` });
    }
  });

export type ClipTextConfigInput = z.input<typeof clipTextConfigSchema>;
export type ClipTextConfig = z.output<typeof clipTextConfigSchema>;

export function parseClipTextConfig(input: unknown): ClipTextConfig {
  const result = clipTextConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RangeError(`invalid CLIP text config:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** OpenAI ViT-L/14's text tower, the CLIP that Aurora conditions on (clip_out_dim 768). */
export const vitL14Text: ClipTextConfig = parseClipTextConfig({
  contextLength: CLIP_CONTEXT_LENGTH,
  vocabSize: 49408,
  width: 768,
  heads: 12,
  layers: 12,
  embedDim: 768,
});
