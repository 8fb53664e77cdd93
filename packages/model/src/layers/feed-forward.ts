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
   *  - 'grouped' sorts the batch's tokens by expert into fixed-size blocks (each expert's group
   *    padded to whole blocks) and runs every block through its expert's weights with one batched
   *    MatMul: up to 2x the routed FLOPs at batch 1, ~1x at large batches, every shape fixed by
   *    the batch size alone, so a GPU runs it without leaving the device (groupedExperts).
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
 * Tokens per block for the grouped MoE: T / E (the tokens an expert gets when routing is even), a
 * power of two in [8, 256] and at most T. The buffer holds every token plus E blocks of padding,
 * so a batch of N runs N * T + E * B rows (2x the routed work at batch 1, ~1x at large batches) in
 * N * T / B + E blocks, each gathering one expert's weights.
 */
export function groupBlockSize(tokens: number, experts: number): number {
  const target = 2 ** Math.floor(Math.log2(Math.max(1, tokens / experts)));
  return Math.min(tokens, 256, Math.max(8, target));
}

/**
 * The grouped MoE (see FeedForwardOptions.moe), over the whole batch, every shape fixed by N:
 *   onehot [N*T, E] of the choice; each token's rank in its expert's group (CumSum over tokens);
 *   groups padded to whole blocks of B, laid out in expert order (CumSum over E);
 *   slot = group start + rank; the tokens are scattered to their slots in a buffer of
 *   N*T + E*B rows (the padding can never need more), read as N*T/B + E blocks;
 *   block j belongs to the expert whose padded group covers it;
 *   each block runs through its expert's stacked weights (Gather by block, batched MatMul);
 *   every token reads its row back from its slot.
 * Index arithmetic is float (exact: every value is an integer below 2^24) and cast to int64 only
 * where an index is consumed, because GPU providers lack int64 elementwise kernels. Padding rows
 * are never read. A token's output row depends on its own row and its expert only (each row of a
 * block's MatMul is its own dot products), so a batch never changes an image.
 */
function groupedExperts(b: Builder, x: string, choice: string, o: FeedForwardOptions): string {
  const { channels: C, numExperts: E, height: H, width: W } = o;
  const T = H * W;
  const B = groupBlockSize(T, E);
  const g = b.child('grouped');

  const flat = g.reshape(x, [-1, C]); // [N*T, C]
  const experts = b.f32(Array.from({ length: E }, (_, e) => e), [1, E]);
  const onehot = g.op('Cast', [g.op('Equal', [g.reshape(choice, [-1, 1]), experts])], { to: attr.int(1) }); // [N*T, E]
  const rank = g.sub(g.reduceSum(g.mul(g.op('CumSum', [onehot, g.i64(0)]), onehot), [1]), g.f32(1)); // [N*T, 1]
  const counts = g.reduceSum(onehot, [0]); // [1, E]
  const padded = g.mul(g.op('Ceil', [g.scale(counts, 1 / B)]), g.f32(B)); // B is a power of two: exact
  const ends = g.op('CumSum', [padded, g.i64(1)]); // [1, E]
  const starts = g.sub(ends, padded);
  const slot = g.add(g.reduceSum(g.mul(onehot, starts), [1]), rank); // [N*T, 1]
  const slotIndex = g.op('Cast', [slot], { to: attr.int(7) }); // [N*T, 1]

  // Every token, then E blocks of zeros (an Expand of a scalar: no initializer, no shape arithmetic).
  const zeros = g.op('Expand', [g.f32(0, [1, 1]), g.i64([E * B, C])]);
  const buffer = g.op('ScatterND', [g.concat([flat, zeros], 0), slotIndex, flat]); // [N*T + E*B, C]
  const tokens = g.reshape(buffer, [-1, B, C]); // [blocks, B, C]

  // Block j starts at row j*B: j from a CumSum over ones shaped like the blocks.
  const ones = g.add(g.scale(g.slice(tokens, [0, 0], [1, 1], [1, 2]), 0), g.f32(1)); // [blocks, 1, 1]
  const blockStart = g.reshape(g.scale(g.sub(g.op('CumSum', [ones, g.i64(0)]), g.f32(1)), B), [-1, 1]); // [blocks, 1]
  const passed = g.reduceSum(g.op('Cast', [g.op('LessOrEqual', [ends, blockStart])], { to: attr.int(1) }), [1]); // [blocks, 1]
  // Blocks past the last group are padding: any expert will do.
  const owner = g.op('Cast', [g.reshape(g.op('Min', [passed, g.f32(E - 1)]), [-1])], { to: attr.int(7) }); // [blocks]

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
  const out = g.reshape(linear(h, 'second'), [-1, C]); // [N*T + E*B, C]
  // Reshaped as a float, then cast: GPU providers have no int64 Reshape.
  const back = g.op('Gather', [out, g.op('Cast', [g.reshape(slot, [-1])], { to: attr.int(7) })], { axis: attr.int(0) }); // [N*T, C]
  return g.reshape(back, [-1, T, C]);
}
