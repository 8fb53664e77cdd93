import type { Builder } from '../onnx/builder.ts';
import { attr } from '../onnx/graph.ts';
import { gelu } from './activation.ts';
import { dense, denseParams } from './dense.ts';
import { modulatedConv } from './modulated-conv.ts';

/** How a MoE layer runs its experts (see FeedForwardOptions.moe). */
export const MOE_MODES = ['sparse', 'dense', 'grouped'] as const;
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
   * How the MoE runs its experts; all three compute the same function:
   *  - 'sparse' (default) gathers each expert's tokens (NonZero) and runs the expert on them only.
   *    Data-dependent shapes: a GPU provider without NonZero runs those nodes on the CPU.
   *  - 'dense' runs every expert on every token and selects (E times the FLOPs).
   *  - 'grouped' sorts each sample's tokens by expert into fixed-size blocks (each expert's group
   *    padded to a whole block) and runs every block through its expert's weights with one batched
   *    MatMul: ~2x the routed FLOPs, every shape fixed by the batch size alone, so a GPU runs it
   *    without leaving the device (groupedFeedForward).
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
    // Every expert on every token, then each token keeps its router's choice. The choice is
    // compared as a float (exact for expert indices): int64 elementwise ops have no GPU kernels.
    const picked = choiceAsFloat(b, choice, E); // [N, T, 1]
    let out = x;
    for (let e = 0; e < E; e++) out = b.op('Where', [b.op('Equal', [picked, b.f32(e)]), expert(b.child('net').child(e), x, o), out]);
    return b.mul(out, weight);
  }
  if (o.moe === 'grouped') return b.mul(groupedExperts(b, x, choiceAsFloat(b, choice, E), o), weight);
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

/** The router's int64 choice [N, T] as float [N, T, 1], by a Gather (which GPU providers run on int64 indices). */
function choiceAsFloat(b: Builder, choice: string, E: number): string {
  const ids = b.f32(Array.from({ length: E }, (_, e) => e), [E]);
  return b.unsqueeze(b.op('Gather', [ids, choice], { axis: attr.int(0) }), [2]);
}

/**
 * Tokens per block for the grouped MoE: about T / (2E), a power of two in [8, 256]. Each expert's
 * group is padded to whole blocks, so a sample holds at most T + E * (B - 1) rows: ~1.5-2x the
 * routed work, in ~3E blocks whose weights are gathered.
 */
export function groupBlockSize(tokens: number, experts: number): number {
  const target = tokens / (2 * experts);
  return Math.min(256, Math.max(8, 2 ** Math.floor(Math.log2(Math.max(1, target)))));
}

/**
 * The grouped MoE (see FeedForwardOptions.moe). Per sample, with every shape fixed by N:
 *   onehot [N,T,E] of the choice; rank of each token in its expert's group (CumSum over T);
 *   groups padded to whole blocks of B, laid out in expert order (CumSum over E);
 *   slot = group start + rank; the tokens are scattered to their slots in [N * S, C];
 *   block j of a sample belongs to the expert whose padded group covers it;
 *   each block runs through its expert's stacked weights (Gather by block, batched MatMul);
 *   every token reads its row back from its slot.
 * Index arithmetic is float (exact: every value is an integer below 2^24) and cast to int64 only
 * where an index is consumed, because GPU providers lack int64 elementwise kernels. Padding rows
 * hold stale values and are never read. A sample's blocks depend on that sample alone, so a batch
 * never changes an image.
 */
function groupedExperts(b: Builder, x: string, choice: string, o: FeedForwardOptions): string {
  const { channels: C, numExperts: E, height: H, width: W } = o;
  const T = H * W;
  const B = groupBlockSize(T, E);
  const blocks = Math.ceil((T + E * (B - 1)) / B); // per sample
  const S = blocks * B;
  const g = b.child('grouped');

  const experts = b.f32(Array.from({ length: E }, (_, e) => e), [1, 1, E]);
  const onehot = g.op('Cast', [g.op('Equal', [choice, experts])], { to: attr.int(1) }); // [N, T, E]
  const rank = g.sub(g.reduceSum(g.mul(g.op('CumSum', [onehot, g.i64(1)]), onehot), [2]), g.f32(1)); // [N, T, 1]
  const counts = g.reduceSum(onehot, [1]); // [N, 1, E]
  const padded = g.mul(g.op('Ceil', [g.scale(counts, 1 / B)]), g.f32(B)); // B is a power of two: exact
  const ends = g.op('CumSum', [padded, g.i64(2)]); // [N, 1, E]
  const starts = g.sub(ends, padded);
  const local = g.add(g.reduceSum(g.mul(onehot, starts), [2]), rank); // [N, T, 1]
  // The sample's own region of the block buffer: n * S, n from a CumSum over ones of the batch.
  const ones = g.add(g.reduceSum(g.scale(counts, 0), [2]), g.f32(1)); // [N, 1, 1]
  const sample = g.sub(g.op('CumSum', [ones, g.i64(0)]), g.f32(1));
  const slot = g.add(local, g.scale(sample, S)); // [N, T, 1]
  const slotIndex = g.op('Cast', [g.reshape(slot, [-1, 1])], { to: attr.int(7) }); // [N*T, 1]

  // The buffer's initial rows are x's, padded to S rows per sample: only its shape matters.
  const buffer0 = g.reshape(g.op('Pad', [x, g.i64([0, 0, 0, 0, S - T, 0])]), [-1, C]); // [N*S, C]
  const buffer = g.op('ScatterND', [buffer0, slotIndex, g.reshape(x, [-1, C])]);
  const tokens = g.reshape(buffer, [-1, B, C]); // [N*blocks, B, C]

  const blockStart = b.f32(Array.from({ length: blocks }, (_, j) => j * B), [1, blocks, 1]);
  const passed = g.reduceSum(g.op('Cast', [g.op('LessOrEqual', [ends, blockStart])], { to: attr.int(1) }), [2]); // [N, blocks, 1]
  // Blocks past the last group are padding: any expert will do.
  const owner = g.op('Cast', [g.reshape(g.op('Min', [passed, g.f32(E - 1)]), [-1])], { to: attr.int(7) }); // [N*blocks]

  const hidden = C * o.mlpRatio;
  const lin = { useWscale: o.useWscale, wscaleGain: o.wscaleGain, lrMul: o.lrMul, addBias: true, initBias: 0 };
  const inWidth = o.glu ? hidden : 2 * hidden;
  // Declared expert by expert in the reference's order, as the other formulations do.
  const params = Array.from({ length: E }, (_, e) => {
    const eb = b.child('net').child(e);
    const first = denseParams(o.glu ? eb.child(0).child(0) : eb.child(0).child('proj'), { ...lin, inChannels: C, outChannels: inWidth });
    const second = denseParams(eb.child(2), { ...lin, inChannels: hidden, outChannels: C });
    return { first, second };
  });
  // Stacked [E, in, out] weights and [E, 1, out] biases: constants onnxruntime folds at load.
  const stack = (ts: string[]) => g.concat(ts.map((t) => g.unsqueeze(t, [0])), 0);
  const linear = (h: string, layer: 'first' | 'second') => {
    const weights = stack(params.map((p) => g.transpose(p[layer].weight, [1, 0])));
    const biases = stack(params.map((p) => g.unsqueeze(p[layer].bias as string, [0])));
    const y = g.matmul(h, g.op('Gather', [weights, owner], { axis: attr.int(0) }));
    return g.add(y, g.op('Gather', [biases, owner], { axis: attr.int(0) }));
  };
  let h: string;
  if (o.glu) h = gelu(g, linear(tokens, 'first'));
  else {
    const [value, gate] = g.chunk(linear(tokens, 'first'), 2, inWidth, -1);
    h = g.mul(value, gelu(g, gate));
  }
  const out = g.reshape(linear(h, 'second'), [-1, C]); // [N*S, C]
  const back = g.op('Gather', [out, g.op('Cast', [g.reshape(slot, [-1])], { to: attr.int(7) })], { axis: attr.int(0) }); // [N*T, C]
  return g.reshape(back, [-1, T, C]);
}
