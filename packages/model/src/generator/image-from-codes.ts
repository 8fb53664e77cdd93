import type { GeneratorConfig } from '../config/generator-config.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import type { Builder } from '../onnx/builder.ts';
import type { SynthesisLayout } from './layout.ts';
import { mapping } from './mapping.ts';
import { type SynthesisOptions, synthesis } from './synthesis.ts';
import { truncate } from './truncation.ts';

/** Graph values the image half of the generator reads: the text head's codes and the sampling inputs. */
export interface CodeInputs {
  /** [N, context_dim] the global text code the mapping sees. */
  readonly globalText: string;
  /** [N, 76, context_dim] the local text codes the synthesis attends to. */
  readonly localText: string;
  readonly z: string;
  readonly psi: string;
  readonly truncLayers: string;
  readonly centerZ: string;
  readonly useCenter: string;
  /** The `w_avg` buffer, registered by the caller (its place in the weight order is the caller's). */
  readonly wAvg: string;
}

/**
 * Declares the sampling inputs (z, trunc_psi, trunc_layers, center_z, use_center) and registers the
 * `w_avg` buffer, in that order: what the whole generator and the image stage both declare right
 * after their text inputs (the order is part of the graphs' bytes).
 */
export function samplingInputs(b: Builder, c: GeneratorConfig, layout: SynthesisLayout): Omit<CodeInputs, 'globalText' | 'localText'> {
  const { graph } = b;
  const z = graph.addInput('z', 'float32', ['batch', c.z_dim]);
  const psi = graph.addInput('trunc_psi', 'float32', ['batch']);
  const truncLayers = graph.addInput('trunc_layers', 'int64', [1]);
  const centerZ = graph.addInput('center_z', 'float32', ['batch', 'center_count', c.z_dim]);
  const useCenter = graph.addInput('use_center', 'bool', ['batch']);
  const wAvg = wAvgParam(b, c, layout);
  return { z, psi, truncLayers, centerZ, useCenter, wAvg };
}

/** Registers the `w_avg` buffer (the mean code truncation moves toward). */
export function wAvgParam(b: Builder, c: GeneratorConfig, layout: SynthesisLayout): string {
  return b.param('w_avg', [c.repeat_w ? c.w_dim : layout.numLayers * c.w_dim], { kind: 'constant', value: 0 }, { buffer: true });
}

export interface ImageFromCodes {
  readonly image: string;
  readonly w: string;
  /** After truncation. */
  readonly wp: string;
}

/**
 * Mapping, the text-conditional centre, truncation and synthesis: everything after the text head.
 * The whole generator and the image stage (which takes text codes from outside, for prompt
 * interpolation) both build exactly this, so the two compute the same function.
 */
export function imageFromCodes(
  b: Builder,
  c: GeneratorConfig,
  layout: SynthesisLayout,
  inputs: CodeInputs,
  options: { readonly moe?: MoeMode; readonly textTokens: number; readonly onImage?: SynthesisOptions['onImage'] },
): ImageFromCodes {
  const { graph } = b;
  const L = layout.numLayers;
  const mapper = b.child('mapping');
  const { w, wp } = mapping(mapper, inputs.z, inputs.globalText, c, L);

  // The centre: map every centre latent with its sample's text (same weights), then average.
  const flatZ = b.reshape(inputs.centerZ, [-1, c.z_dim]);
  // The text repeated K times, by broadcasting against zeros shaped [N, K, 1] (not an Expand to a
  // computed shape: that shape arithmetic would run on the CPU). The latents are finite: 0 * z = 0.
  const zerosNK = b.scale(b.reduceSum(inputs.centerZ, [2]), 0);
  const textPerCenter = b.add(b.unsqueeze(inputs.globalText, [1]), zerosNK);
  const centerCodes = mapping(mapper, flatZ, b.reshape(textPerCenter, [-1, c.context_dim]), c, L).wp; // [N*K, L, w]
  // The mean over the K codes as ones[N, 1, K] @ codes[N, K, L*w] / K: one M = 1 GEMM per sample,
  // whose sums do not depend on the batch. A ReduceMean over K does: onnxruntime's CPU kernel sums a
  // middle axis in another order when the batch is 1 (and its optimizer turns a Transpose that puts
  // K last back into exactly that), so a sample's centre, hence its image, changed with its batch.
  // [N, K, L*w] is the shape of zeros expanded by a constant: its Shape feeds the Reshape with no shape
  // arithmetic (a Concat of dimensions would run on the CPU provider).
  const likePerSample = b.op('Shape', [b.op('Expand', [zerosNK, b.i64([1, 1, L * c.w_dim])])]);
  const perSample = b.op('Reshape', [centerCodes, likePerSample]); // [N, K, L*w]
  const ones = b.transpose(b.add(zerosNK, b.f32(1)), [0, 2, 1]); // [N, 1, K]
  const centerSum = b.matmul(ones, perSample); // [N, 1, L*w]
  // K as a float from the ones themselves (an exact sum of ones), not a Cast of a shape.
  const centerWp = b.reshape(b.div(centerSum, b.reduceSum(ones, [2])), [0, L, c.w_dim]);

  graph.tap(centerWp, 'center_wp', 'float32', ['batch', L, c.w_dim]);
  const truncated = truncate(b, wp, {
    wAvg: b.reshape(inputs.wAvg, [1, c.repeat_w ? 1 : L, c.w_dim]),
    psi: inputs.psi,
    layers: inputs.truncLayers,
    numLayers: L,
    center: centerWp,
    useCenter: inputs.useCenter,
  });
  const image = synthesis(b.child('synthesis'), truncated, inputs.localText, c, layout, options.textTokens - 1, { moe: options.moe, onImage: options.onImage });
  return { image, w, wp: truncated };
}
