import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

export type Activation = 'linear' | 'lrelu';

/** bias_act's activations with their default gains: lrelu uses slope 0.2 and gain sqrt(2). */
export function applyActivation(b: Builder, x: string, act: Activation): string {
  if (act === 'linear') return x;
  const y = b.op('LeakyRelu', [x], { alpha: attr.float(0.2) });
  return b.scale(y, Math.SQRT2);
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
