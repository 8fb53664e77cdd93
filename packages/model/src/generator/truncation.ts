import type { Builder } from '../onnx/builder.ts';

/** torch.lerp(start, end, weight) with torch's two-sided formula, so results match bit for bit more often. */
export function lerp(b: Builder, start: string, end: string, weight: string): string {
  const diff = b.sub(end, start);
  const low = b.add(start, b.mul(weight, diff));
  const high = b.sub(end, b.mul(diff, b.sub(b.f32(1), weight)));
  return b.op('Where', [b.op('Less', [b.op('Abs', [weight]), b.f32(0.5)]), low, high]);
}

/**
 * The truncation trick: the first `trunc_layers` codes move toward the global w_avg by psi, then
 * (when a sample asks for it) toward its text-conditional centre, the mean wp of K latents for
 * the same text, again by psi. A sample with a centre follows run_synthesize, which lerps for any
 * psi; one without follows Text2ImageGenerator.forward, which truncates only when psi < 1 (so
 * psi > 1 does not extrapolate there).
 */
export function truncate(
  b: Builder,
  wp: string,
  o: { wAvg: string; psi: string; layers: string; numLayers: number; center: string; useCenter: string },
): string {
  const psi = b.reshape(o.psi, [-1, 1, 1]);
  const layerIds = b.i64(Array.from({ length: o.numLayers }, (_, i) => i), [1, o.numLayers, 1]);
  const active = b.op('Less', [layerIds, o.layers]); // [1, L, 1]
  const useCenter = b.reshape(o.useCenter, [-1, 1, 1]);
  const truncates = b.op('Or', [useCenter, b.op('Less', [psi, b.f32(1)])]); // [N, 1, 1]
  const towardAvg = b.op('Where', [b.op('And', [active, truncates]), lerp(b, o.wAvg, wp, psi), wp]);
  b.graph.tap(towardAvg, 'wp_toward_avg', 'float32', ['batch', o.numLayers, 'w_dim']);
  const towardCenter = b.op('Where', [active, lerp(b, o.center, towardAvg, psi), towardAvg]);
  return b.op('Where', [useCenter, towardCenter, towardAvg]);
}
