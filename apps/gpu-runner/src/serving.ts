/**
 * The serving model: token ids, latents and psi in, uint8 NHWC images out, the tensors of the OIP v2
 * model the runner serves (and of the serving graph a Triton model repository holds).
 *
 * `runServing` is the one function the runner computes with: the bundle's serving graph through
 * @aurora-edge/model's ServingSession (the pipeline loads it when the manifest has `serving`), or,
 * for a bundle made before serving graphs existed, the same computation composed from the
 * pipeline's parts exactly as AuroraPipeline.generate did it: PromptEncoder.encodeIds once per
 * distinct row of ids, GeneratorSession.run with the text-conditional centre's latents, then the
 * reference postprocess (toUint8Image).
 */
import { type AuroraPipeline, type BundleManifest, sampleCenterLatents, toUint8Image } from '@aurora-edge/model';
import { AURORA_TENSORS, type MetadataTensor, PARTIAL_IMAGES_PREFIX } from '@aurora-edge/protocol';

/** One batch of rows, row-major: ids [n, contextLength], z [n, zDim], psi [n]. */
export interface ServingBatch {
  readonly batch: number;
  readonly inputIds: Int32Array;
  readonly z: Float32Array;
  readonly psi: Float32Array;
  /** Also make the partial images (the serving graph's partial_images_<res> outputs). */
  readonly partials?: boolean;
}

export type NhwcDims = readonly [n: number, h: number, w: number, c: number];

export interface ServingOutput {
  /** UINT8 NHWC, [n, H, W, C]. */
  readonly images: Uint8Array;
  readonly dims: NhwcDims;
  /** With `partials`: each partial_images_<res>, UINT8 NHWC, in the order of ServingShape.partials. */
  readonly partials?: readonly { readonly res: number; readonly images: Uint8Array; readonly dims: NhwcDims }[];
}

/** The bundle's serving dimensions. */
export interface ServingShape {
  readonly contextLength: number;
  readonly zDim: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Token ids are in [0, vocabSize). */
  readonly vocabSize: number;
  /** Sides of the partial_images_<res> outputs (the serving graph's; none without one). */
  readonly partials: readonly number[];
}

export function servingShape(m: BundleManifest): ServingShape {
  return {
    contextLength: m.tokenizer.contextLength,
    zDim: m.generator.config.z_dim,
    height: m.resolution,
    width: m.resolution,
    channels: m.generator.config.image_channels,
    vocabSize: m.textEncoder.config.vocabSize,
    partials: m.serving?.partials ?? [],
  };
}

/** The output name of the partial images of side `res`. */
export const partialOutputName = (res: number): string => `${PARTIAL_IMAGES_PREFIX}${res}`;

/** The model metadata's inputs and outputs (-1: the batch dimension). */
export function servingTensorMetadata(m: BundleManifest): { inputs: MetadataTensor[]; outputs: MetadataTensor[] } {
  const s = servingShape(m);
  return {
    inputs: [
      { name: AURORA_TENSORS.inputIds, datatype: 'INT32', shape: [-1, s.contextLength] },
      { name: AURORA_TENSORS.z, datatype: 'FP32', shape: [-1, s.zDim] },
      { name: AURORA_TENSORS.psi, datatype: 'FP32', shape: [-1, 1] },
    ],
    outputs: [
      { name: AURORA_TENSORS.images, datatype: 'UINT8', shape: [-1, s.height, s.width, s.channels] },
      ...s.partials.map((r): MetadataTensor => ({ name: partialOutputName(r), datatype: 'UINT8', shape: [-1, r, r, s.channels] })),
    ],
  };
}

const centres = new WeakMap<AuroraPipeline, Float32Array>();

/** Runs one batch through the bundle's sessions: byte for byte what AuroraPipeline.generate makes for the same rows. */
export async function runServing(pipeline: AuroraPipeline, input: ServingBatch): Promise<ServingOutput> {
  if (pipeline.serving) {
    const out = await pipeline.serving.run({ batch: input.batch, inputIds: input.inputIds, z: input.z, psi: input.psi, partials: input.partials });
    // Copies of our own: the worker transfers their buffers, which must not be onnxruntime's.
    const partials = out.partials?.map((p) => ({ res: p.res, images: new Uint8Array(p.images), dims: p.dims }));
    return { images: new Uint8Array(out.images), dims: out.dims, ...(partials ? { partials } : {}) };
  }
  const m = pipeline.manifest;
  const { contextLength: L, zDim } = servingShape(m);
  const n = input.batch;
  if (input.inputIds.length !== n * L) throw new RangeError(`input_ids: expected ${n * L} ids, got ${input.inputIds.length}`);
  // One text encoding per distinct prompt, in order of first appearance (as AuroraPipeline does).
  const distinct = new Map<string, number>();
  const rows: Int32Array[] = [];
  const promptOf: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = input.inputIds.subarray(i * L, (i + 1) * L);
    const key = row.join(',');
    let p = distinct.get(key);
    if (p === undefined) {
      p = rows.length;
      distinct.set(key, p);
      rows.push(row);
    }
    promptOf.push(p);
  }
  const encoded = await pipeline.text.encodeIds(rows);
  const rowSize = encoded.contextLength * encoded.width;
  const textTokens = new Float32Array(n * rowSize);
  promptOf.forEach((p, i) => textTokens.set(encoded.tokens.subarray(p * rowSize, (p + 1) * rowSize), i * rowSize));
  let centre = centres.get(pipeline);
  if (!centre) centres.set(pipeline, (centre = sampleCenterLatents(m.sampling.centerCount, zDim)));
  const centerZ = new Float32Array(n * centre.length);
  for (let i = 0; i < n; i++) centerZ.set(centre, i * centre.length);
  const generator = pipeline.generator;
  if (!generator) throw new Error('the pipeline has neither a serving graph nor a generator session');
  const out = await generator.run({
    textTokens,
    eotIndex: promptOf.map((p) => encoded.eotIndex[p]),
    z: input.z,
    psi: Array.from(input.psi),
    center: { count: m.sampling.centerCount, z: centerZ, use: new Array(n).fill(true) },
  });
  const [, c, h, w] = out.image.dims as number[];
  const images = new Uint8Array(n * h * w * c);
  toUint8Image(out.image.data as Float32Array, [n, c, h, w]).forEach((px, i) => images.set(px, i * px.length));
  return { images, dims: [n, h, w, c] };
}
