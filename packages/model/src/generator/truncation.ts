import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';

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
  // Layer i is truncated when i < trunc_layers: a row of a constant table picked by a Gather on
  // the int64 input (trunc_layers in [0, L]; GeneratorSession clamps), because GPU providers have
  // no int64 comparisons and would run them on the CPU.
  const L = o.numLayers;
  const table = new Float32Array((L + 1) * L);
  for (let t = 0; t <= L; t++) for (let i = 0; i < t; i++) table[t * L + i] = 1;
  const rows = b.op('Gather', [b.f32(table, [L + 1, L]), o.layers], { axis: attr.int(0) }); // [1, L]
  const active = b.op('Greater', [b.reshape(rows, [1, L, 1]), b.f32(0.5)]); // [1, L, 1]
  const useCenter = b.reshape(o.useCenter, [-1, 1, 1]);
  // useCenter OR psi < 1, as NOT(NOT a AND NOT b): GPU providers lack a bool Or.
  const truncates = b.op('Not', [b.op('And', [b.op('Not', [useCenter]), b.op('Not', [b.op('Less', [psi, b.f32(1)])])])]); // [N, 1, 1]
  const towardAvg = b.op('Where', [b.op('And', [active, truncates]), lerp(b, o.wAvg, wp, psi), wp]);
  b.graph.tap(towardAvg, 'wp_toward_avg', 'float32', ['batch', o.numLayers, 'w_dim']);
  const towardCenter = b.op('Where', [active, lerp(b, o.center, towardAvg, psi), towardAvg]);
  return b.op('Where', [useCenter, towardCenter, towardAvg]);
}
