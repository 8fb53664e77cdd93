import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

/** PixelNormLayer: x * rsqrt(mean(x^2, dim) + eps). */
export function pixelNorm(b: Builder, x: string, axis: number, eps: number): string {
  const ms = b.reduceMean(b.square(x), [axis]);
  return b.mul(x, b.rsqrt(b.add(ms, b.f32(eps))));
}

/** nn.LayerNorm over the last axis (eps 1e-5, affine), with parameters `weight`/`bias`. */
export function layerNorm(b: Builder, x: string, channels: number, eps = 1e-5): string {
  const weight = b.param('weight', [channels], { kind: 'constant', value: 1 });
  const bias = b.param('bias', [channels], { kind: 'constant', value: 0 });
  return b.op('LayerNormalization', [x, weight, bias], { axis: attr.int(-1), epsilon: attr.float(eps) });
}

/**
 * nn.GroupNorm(groups, channels) on [N, C, H, W], written out with reductions because ONNX's
 * GroupNormalization has changed meaning between opsets and is missing from some runtimes.
 */
export function groupNorm(b: Builder, x: string, groups: number, channels: number, height: number, width: number, eps = 1e-5): string {
  if (channels % groups !== 0) throw new RangeError(`GroupNorm: ${channels} channels are not divisible into ${groups} groups`);
  const weight = b.param('weight', [channels], { kind: 'constant', value: 1 });
  const bias = b.param('bias', [channels], { kind: 'constant', value: 0 });
  const g = b.reshape(x, [0, groups, (channels / groups) * height * width]);
  const mean = b.reduceMean(g, [2]);
  const centered = b.sub(g, mean);
  const variance = b.reduceMean(b.square(centered), [2]);
  const normed = b.mul(centered, b.rsqrt(b.add(variance, b.f32(eps))));
  const y = b.reshape(normed, [0, channels, height, width]);
  return b.add(b.mul(y, b.reshape(weight, [channels, 1, 1])), b.reshape(bias, [channels, 1, 1]));
}
