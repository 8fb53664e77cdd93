import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

export type Activation = 'linear' | 'lrelu';

/**
 * bias_act's activations with their default gains (lrelu: slope 0.2, gain sqrt(2)), then its
 * optional clamp to [-clamp, clamp] (the reference's conv_clamp).
 */
export function applyActivation(b: Builder, x: string, act: Activation, clamp?: number | null): string {
  let y = x;
  if (act === 'lrelu') y = b.scale(b.op('LeakyRelu', [x], { alpha: attr.float(0.2) }), Math.SQRT2);
  if (clamp !== undefined && clamp !== null) y = b.op('Clip', [y, b.f32(-clamp), b.f32(clamp)]);
  return y;
}

/** Exact (erf) GELU, as torch.nn.GELU / F.gelu default. */
export function gelu(b: Builder, x: string): string {
  const erf = b.op('Erf', [b.scale(x, Math.SQRT1_2)]);
  return b.mul(b.scale(x, 0.5), b.add(erf, b.f32(1)));
}

/** CLIP's QuickGELU: x * sigmoid(1.702 x). */
export function quickGelu(b: Builder, x: string): string {
  return b.mul(x, b.sigmoid(b.scale(x, 1.702)));
}
