import type { Builder } from '../onnx/builder.ts';

/**
 * The modulation of AdaptiveModulateConvLayer as two per-sample factors: `style` [N, I] scales
 * the input channels and `demod` [N, O] (null without demodulation) the output channels, so that
 *   conv(x, w') = demod * conv(style * x, w)
 * for the reference's modulated weight w' (exact algebra: the conv is linear in x and w' is w
 * scaled per (sample, input channel) and per (sample, output channel)). The weight itself is
 * never modulated: a static weight stays a static Conv, and a sample's [O, I, k*k] weight is not
 * rewritten twice per image.
 *
 * With demodulation the reference first RMS-normalises the weight per output channel and the
 * style per sample (the reference normalises the style over the whole batch; demodulation cancels
 * that except through eps, and per sample is what the official batch-1 inference computes), then
 *   w' = w s a b / sqrt(sum_{i,t} (w s)^2 a^2 b^2 + eps),   a = rms(w)^-1, b = rms(s)^-1
 * which is exactly
 *   w' = w s / sqrt(sum_i s_i^2 q_{o,i} + eps * ms(w) * ms(s)),   q = sum_t w^2, ms = mean square,
 * so style = s and demod = that reciprocal square root. Without demodulation the style carries the
 * weight scale (styleGain). Every sum is a ReduceSum/ReduceMean over trailing axes, never a MatMul
 * or a reduction over a leading axis: onnxruntime orders those sums by how it splits the work
 * across threads, which depends on the batch size, and a sample's result must not.
 */
export function modulation(
  b: Builder,
  weight: string,
  style: string,
  o: { inChannels: number; taps: number; demodulate: boolean; eps: number; styleGain: number },
): { style: string; demod: string | null } {
  if (!o.demodulate) return { style: b.scale(style, o.styleGain), demod: null };
  const s2 = b.reshape(b.square(style), [0, 1, o.inChannels]); // [N, 1, I]
  const q = b.reduceSum(b.square(weight), [3], false); // [B, O, I]  (a constant for a static weight)
  const energy = b.reduceSum(b.mul(s2, q), [2], false); // [N, O]
  const msW = b.reduceMean(q, [2], false); // [B, O] = taps * mean_{i,t} w^2
  const msS = b.reduceMean(s2, [2], false); // [N, 1]
  const epsTerm = b.scale(b.mul(msW, msS), o.eps / o.taps);
  return { style, demod: b.rsqrt(b.add(energy, epsTerm)) };
}
