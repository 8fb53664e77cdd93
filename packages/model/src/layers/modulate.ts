import type { Builder } from '../onnx/builder.ts';

/**
 * Modulates [B, O, I, k*k] weights (B = 1 or N) by a [N, I] style. With demodulation the weight
 * is first RMS-normalised per output channel and the style per sample (the reference normalises
 * the style over the whole batch; demodulation cancels that except through eps, and per sample is
 * what the official batch-1 inference computes); without it the style carries the weight scale.
 */
export function modulate(
  b: Builder,
  weight: string,
  style: string,
  o: { inChannels: number; demodulate: boolean; eps: number; styleGain: number },
): string {
  let wt = weight;
  let s = style;
  if (o.demodulate) {
    wt = b.mul(wt, b.rsqrt(b.reduceMean(b.square(wt), [2, 3])));
    s = b.mul(s, b.rsqrt(b.reduceMean(b.square(s), [1])));
  } else {
    s = b.scale(s, o.styleGain);
  }
  wt = b.mul(wt, b.reshape(s, [0, 1, o.inChannels, 1]));
  if (o.demodulate) {
    wt = b.mul(wt, b.rsqrt(b.add(b.reduceSum(b.square(wt), [2, 3]), b.f32(o.eps))));
  }
  return wt;
}
