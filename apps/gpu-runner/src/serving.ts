/**
 * The serving model: token ids, latents and psi in, uint8 NHWC images out, the tensors of the OIP v2
 * model the runner serves. It is the bundle's serving graph (serving.onnx, serving-gpu.onnx on GPU
 * providers), run by @aurora-edge/model's ServingSession, and its tensors are the model package's
 * `servingTensors(manifest)` (the same a Triton model repository holds). A bundle made before
 * serving graphs existed cannot be served: `npx aurora upgrade <bundle dir>` adds the graph.
 */
import {
  type BundleManifest,
  servingShape as modelServingShape,
  type ServingShape as ModelServingShape,
  type ServingBatch,
  type ServingImages,
  type ServingSession,
  servingTensors,
} from '@aurora-edge/model';
import type { MetadataTensor } from '@aurora-edge/protocol';

export type { NhwcDims, ServingBatch } from '@aurora-edge/model';
/** One batch's images: UINT8 NHWC `images` and, when the batch asked, each partial_images_<res> (RunnerShape.partials order). */
export type ServingOutput = ServingImages;

/** The serving graph's dimensions, and the vocabulary the runner checks token ids against. */
export interface RunnerShape extends ModelServingShape {
  readonly height: number;
  readonly width: number;
  /** Token ids are in [0, vocabSize). */
  readonly vocabSize: number;
}

/** The bundle has no serving graph: the runner refuses to start with it. */
export class NoServingGraphError extends Error {
  override readonly name = 'NoServingGraphError';
}

/**
 * The bundle's serving dimensions (`dir`: its folder, named in the error). Throws
 * NoServingGraphError for a bundle made before serving graphs existed.
 */
export function servingShape(m: BundleManifest, dir?: string): RunnerShape {
  const s = modelServingShape(m);
  if (!s)
    throw new NoServingGraphError(
      `bundle ${m.id}${dir ? ` (${dir})` : ''} has no serving graph (it was made before serving graphs existed) and the runner serves only bundles with one: \`npx aurora upgrade ${dir ?? '<bundle dir>'}\` adds it`,
    );
  return { ...s, height: s.resolution, width: s.resolution, vocabSize: m.textEncoder.config.vocabSize };
}

/** The model metadata's inputs and outputs (-1: the batch dimension): `servingTensors(m)` in OIP terms. */
export function servingTensorMetadata(m: BundleManifest): { inputs: MetadataTensor[]; outputs: MetadataTensor[] } {
  const { inputs, outputs } = servingTensors(m);
  const oip = (t: (typeof inputs)[number]): MetadataTensor => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] });
  return { inputs: inputs.map(oip), outputs: outputs.map(oip) };
}

/** Runs one batch through the bundle's serving graph: byte for byte what AuroraPipeline.generate makes for the same rows. */
export async function runServing(session: ServingSession, input: ServingBatch): Promise<ServingOutput> {
  const out = await session.run(input);
  // Copies of our own: the worker transfers their buffers, which must not be onnxruntime's.
  const partials = out.partials?.map((p) => ({ res: p.res, images: new Uint8Array(p.images), dims: p.dims }));
  return { images: new Uint8Array(out.images), dims: out.dims, ...(partials ? { partials } : {}) };
}
