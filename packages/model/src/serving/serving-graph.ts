import { clipText } from '../clip/text-encoder.ts';
import type { ClipTextConfig } from '../clip/config.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';
import { TEXT_TOKENS } from '../generator/generator.ts';
import { imageFromCodes, wAvgParam } from '../generator/image-from-codes.ts';
import { outputResolution, partialResolutions, synthesisLayout } from '../generator/layout.ts';
import { textHead } from '../generator/text-head.ts';
import type { MoeMode } from '../layers/feed-forward.ts';
import { Builder } from '../onnx/builder.ts';
import { attr, Graph } from '../onnx/graph.ts';
import { type ParamProvider, ParamRegistry } from '../onnx/params.ts';
import { sampleCenterLatents } from '../sampling/latent.ts';
import { toUint8Nhwc, uint8Tables } from './postprocess-graph.ts';
import { partialImagesName, SERVING_IMAGES, SERVING_INPUT_IDS, SERVING_PSI, SERVING_Z } from './tensors.ts';

export interface ServingGraphSpec {
  readonly generator: { readonly config: GeneratorConfig; readonly provider: ParamProvider };
  readonly textEncoder: { readonly config: ClipTextConfig; readonly provider: ParamProvider };
  /** Latents averaged into the text-conditional centre (manifest sampling.centerCount). */
  readonly centerCount: number;
  /** The generator's MoE formulation ('grouped' for serving-gpu.onnx). */
  readonly moe?: MoeMode;
}

export interface BuiltServingGraph {
  readonly graph: Graph;
  /** Sides of the partial images it outputs, smallest first. */
  readonly partials: readonly number[];
}

/**
 * The serving graph: token ids, latents and psi in, uint8 images out, with nothing of ours needed
 * around it (a tensor server such as Triton runs it as it is). It computes what AuroraPipeline
 * computes with the text encoder and generator graphs plus the host postprocess, built by the
 * same builders with the same parameter names (a bundle stores the weights once):
 *
 *   input_ids [N, T] int32     the bundle's CLIP tokenizer output (SOT ... EOT, zero padded)
 *   z         [N, z_dim]       sampleLatents(seeds, z_dim)
 *   psi       [N, 1]           truncation toward w_avg and the prompt's centre (1 = none)
 *   images    [N, R, R, C] uint8            the reference postprocess, NHWC
 *   partial_images_<r> [N, r, r, C] uint8   each lower-resolution image the output is built from
 *
 * Each row runs the text encoder on its own ids (nothing mixes rows, so a row's image does not
 * depend on what else is in the batch), every layer is truncated (trunc_layers = all, as the
 * pipeline does), and every sample moves toward its text-conditional centre.
 */
export function buildServingGraph(spec: ServingGraphSpec): BuiltServingGraph {
  const graph = new Graph(spec.moe === 'grouped' ? 'aurora_serving_grouped_moe' : 'aurora_serving');
  const clipParams = new ParamRegistry(spec.textEncoder.provider);
  const genParams = new ParamRegistry(spec.generator.provider);
  const tb = new Builder(graph, clipParams);
  const b = new Builder(graph, genParams);
  const c = spec.generator.config;
  const clip = spec.textEncoder.config;
  if (clip.contextLength !== TEXT_TOKENS)
    throw new RangeError(`serving graph: the generator reads ${TEXT_TOKENS} text positions, the text encoder has ${clip.contextLength}`);
  const layout = synthesisLayout(c);
  const L = layout.numLayers;

  const inputIds = graph.addInput(SERVING_INPUT_IDS, 'int32', ['batch', clip.contextLength]);
  const z = graph.addInput(SERVING_Z, 'float32', ['batch', c.z_dim]);
  const psi = graph.addInput(SERVING_PSI, 'float32', ['batch', 1]);

  // The text encoder first, so its constants get the names text-encoder.onnx gave them (the
  // bundle's encoder then finds them in its external data). int32 ids, as Triton clients send
  // them; the tower reads int64, as text-encoder.onnx does.
  const ids64 = b.op('Cast', [inputIds], { to: attr.int(7) }, 'input_ids_int64');
  const text = clipText(tb, ids64, clip);
  const codes = textHead(b.child('text_head'), text.tokens, text.eot, c, TEXT_TOKENS);

  // The centre's latents are the same for every request of a bundle: a constant of the graph
  // rather than an input, since Triton's dynamic batcher needs every input batched and these never
  // change. Broadcast to [N, K, z_dim] by adding zeros shaped [N, 1, 1] (0 * z: latents are finite).
  const K = spec.centerCount;
  const centerConst = b.constTensor('center_z', { type: 'float32', dims: [1, K, c.z_dim], data: sampleCenterLatents(K, c.z_dim) });
  const zerosN11 = b.reshape(b.scale(b.reduceSum(z, [1]), 0), [-1, 1, 1]);
  const centerZ = b.add(centerConst, zerosN11);
  const wAvg = wAvgParam(b, c, layout);
  const truncLayers = b.i64([L]);
  const useCenter = b.constTensor('use_center', { type: 'bool', dims: [1], data: Uint8Array.of(1) });

  const partials: { res: number; image: string }[] = [];
  const { image } = imageFromCodes(
    b,
    c,
    layout,
    { globalText: codes.global, localText: codes.local, z, psi, truncLayers, centerZ, useCenter, wAvg },
    { moe: spec.moe, textTokens: TEXT_TOKENS, onImage: (res, img) => partials.push({ res, image: img }) },
  );
  const R = outputResolution(c);
  const C = c.image_channels;
  const tables = uint8Tables(b.child('postprocess'));
  graph.addOutput(toUint8Nhwc(b, image, tables), SERVING_IMAGES, 'uint8', ['batch', R, R, C]);
  const expected = partialResolutions(c);
  if (partials.map((p) => p.res).join() !== expected.join())
    throw new Error(`serving graph: synthesis gave partial images at [${partials.map((p) => p.res)}], expected [${expected}]`);
  for (const p of partials)
    graph.addOutput(toUint8Nhwc(b.child(partialImagesName(p.res)), p.image, tables), partialImagesName(p.res), 'uint8', ['batch', p.res, p.res, C]);

  const clash = clipParams.specs.filter((s) => genParams.stateDictShapes().has(s.name));
  if (clash.length) throw new Error(`serving graph: text encoder and generator both name ${clash.map((s) => s.name).join(', ')}`);
  return { graph, partials: expected };
}
