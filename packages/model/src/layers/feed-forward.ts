import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';
import { gelu } from './activation.ts';
import { dense } from './dense.ts';
import { modulatedConv } from './modulated-conv.ts';

/** How a MoE layer runs its experts (see FeedForwardOptions.moe). */
export const MOE_MODES = ['sparse', 'dense'] as const;
export type MoeMode = (typeof MOE_MODES)[number];

export interface FeedForwardOptions {
  readonly channels: number;
  readonly mlpRatio: number;
  readonly glu: boolean;
  readonly numExperts: number;
  readonly wDim: number;
  readonly useWscale: boolean;
  readonly wscaleGain: number;
  readonly lrMul: number;
  readonly height: number;
  readonly width: number;
  /**
   * How the MoE runs its experts: 'sparse' (default) gathers each expert's tokens and runs the
   * expert on them only; 'dense' runs every expert on every token and selects (E times the
   * FLOPs; for benchmarks, and for accelerators where gathers cost more than the extra math).
   */
  readonly moe?: MoeMode;
}

/**
 * One FFN: (GEGLU | Dense+GELU) -> Dense, at the reference's Sequential indices 0 and 2. The
 * dense (non-MoE) FeedForward also registers them as `project_in` / `proj_out`: `alias` names it.
 */
function expert(b: Builder, x: string, o: FeedForwardOptions, alias?: Builder): string {
  const C = o.channels;
  const hidden = C * o.mlpRatio;
  const lin = { useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul, addBias: true, initBias: 0 };
  let h: string;
  if (o.glu) {
    const aliases = alias && [alias.key('project_in.0')];
    h = gelu(b, dense(b.child(0).child(0), x, { ...lin, inChannels: C, outChannels: hidden, aliases }));
  } else {
    const aliases = alias && [alias.key('project_in.proj')];
    const proj = dense(b.child(0).child('proj'), x, { ...lin, inChannels: C, outChannels: 2 * hidden, aliases });
    const [value, gate] = b.chunk(proj, 2, 2 * hidden, -1);
    h = b.mul(value, gelu(b, gate));
  }
  return dense(b.child(2), h, { ...lin, inChannels: hidden, outChannels: C, aliases: alias && [alias.key('proj_out')] });
}

/**
 * FeedForward on tokens [N, T, C]. With two or more experts it is the sparse MoE: a modulated
 * 1x1 conv routes each token to its argmax expert, only that expert runs on it (gather, run,
 * scatter back), and the result is scaled by the winning router probability.
 */
export function feedForward(b: Builder, x: string, w: string, o: FeedForwardOptions): string {
  if (o.numExperts < 2) return expert(b.child('net'), x, o, b);
  const { channels: C, numExperts: E, height: H, width: W } = o;
  const T = H * W;
  const grid = b.reshape(b.transpose(x, [0, 2, 1]), [0, C, H, W]);
  const routed = modulatedConv(b.child('routing'), grid, w, {
    inChannels: C, outChannels: E, wDim: o.wDim, kernelSize: 1, numKernels: 1, addBias: true, demodulate: true,
    useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul, activation: 'lrelu', eps: 1e-8, height: H, width: W,
  }).y;
  const logits = b.transpose(b.reshape(routed, [0, E, T]), [0, 2, 1]); // [N, T, E]
  const probs = b.softmax(logits, 2);
  const choice = b.op('ArgMax', [probs], { axis: attr.int(2), keepdims: attr.int(0) }); // [N, T]
  const weight = b.op('ReduceMax', [probs], { axes: attr.ints([2]), keepdims: attr.int(1) });
  b.graph.tap(choice, `router/${b.prefix}/expert_index`, 'int64', ['batch', T]);
  b.graph.tap(b.squeeze(weight, [2]), `router/${b.prefix}/router_prob`, 'float32', ['batch', T]);
  b.graph.tap(logits, `router/${b.prefix}/router_logits`, 'float32', ['batch', T, E]);

  if (o.moe === 'dense') {
    // Every expert on every token, then each token keeps its router's choice.
    const picked = b.unsqueeze(choice, [2]); // [N, T, 1]
    let out = x;
    for (let e = 0; e < E; e++) out = b.op('Where', [b.op('Equal', [picked, b.i64(e)]), expert(b.child('net').child(e), x, o), out]);
    return b.mul(out, weight);
  }
  const flat = b.reshape(x, [-1, C]);
  const flatChoice = b.reshape(choice, [-1]);
  // Every token is overwritten by its expert; starting from x mirrors the reference's clone.
  let out = flat;
  for (let e = 0; e < E; e++) {
    const where = b.transpose(b.op('NonZero', [b.op('Equal', [flatChoice, b.i64(e)])]), [1, 0]); // [M, 1]
    const picked = b.op('GatherND', [flat, where]); // [M, C]
    out = b.op('ScatterND', [out, where, expert(b.child('net').child(e), picked, o)]);
  }
  return b.mul(b.reshape(out, [-1, T, C]), weight);
}
