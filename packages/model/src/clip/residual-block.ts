import type { Builder } from '../onnx/builder.ts';
import { quickGelu } from '../layers/activation.ts';
import { layerNorm } from '../layers/norm.ts';
import { linear } from './linear.ts';
import { multiheadAttention } from './multihead-attention.ts';

export interface ResidualBlockOptions {
  readonly width: number;
  readonly heads: number;
  readonly tokens: number;
  readonly layers: number;
  readonly mask: string;
}

/** OpenAI CLIP's MLP width: mlp_ratio 4. */
const MLP_RATIO = 4;

/**
 * One pre-LN ResidualAttentionBlock on x [N, T, W] (no LayerScale: ls_init_value is None):
 *   x = x + attn(ln_1(x), causal mask);  x = x + c_proj(QuickGELU(c_fc(ln_2(x)))).
 * Init stds follow open_clip's TextTransformer.init_parameters.
 */
export function residualBlock(b: Builder, x: string, o: ResidualBlockOptions): string {
  const W = o.width;
  const attnStd = W ** -0.5;
  const projStd = attnStd * (2 * o.layers) ** -0.5;
  const attn = multiheadAttention(b.child('attn'), layerNorm(b.child('ln_1'), x, W), {
    width: W, heads: o.heads, tokens: o.tokens, mask: o.mask, inStd: attnStd, outStd: projStd,
  });
  const h = b.add(x, attn);
  const mlp = b.child('mlp');
  const fc = linear(mlp.child('c_fc'), layerNorm(b.child('ln_2'), h, W), W, MLP_RATIO * W, (2 * W) ** -0.5); // [N, T, 4W]
  const proj = linear(mlp.child('c_proj'), quickGelu(mlp, fc), MLP_RATIO * W, W, projStd);
  return b.add(h, proj);
}
