import type { BundleManifest } from '../bundle/manifest.ts';

/**
 * The serving graph's tensors (serving/serving-graph.ts), described once for everything that talks
 * to it: ServingSession, the GPU runner's Open Inference Protocol metadata and the Triton export.
 * Every tensor has the batch as its first dimension (-1 here), as Triton's dynamic batcher needs.
 */

export const SERVING_INPUT_IDS = 'input_ids';
export const SERVING_Z = 'z';
export const SERVING_PSI = 'psi';
export const SERVING_IMAGES = 'images';
/** `partial_images_<res>`: the lower-resolution image of side `res`, postprocessed like `images`. */
export const partialImagesName = (res: number): string => `partial_images_${res}`;

/** The element types the serving graph uses, in each vocabulary that names them. */
export const SERVING_DTYPES = {
  int32: { onnx: 'int32', oip: 'INT32', triton: 'TYPE_INT32' },
  float32: { onnx: 'float32', oip: 'FP32', triton: 'TYPE_FP32' },
  uint8: { onnx: 'uint8', oip: 'UINT8', triton: 'TYPE_UINT8' },
} as const;

export type ServingDtype = keyof typeof SERVING_DTYPES;

export interface ServingTensor {
  readonly name: string;
  /** onnxruntime's name for the element type (a Tensor's `type`). */
  readonly dtype: ServingDtype;
  /** Open Inference Protocol v2 datatype (KServe v2 / Triton HTTP and gRPC). */
  readonly datatype: (typeof SERVING_DTYPES)[ServingDtype]['oip'];
  /** Triton model configuration data_type. */
  readonly tritonType: (typeof SERVING_DTYPES)[ServingDtype]['triton'];
  /** Full shape, -1 for the batch. */
  readonly shape: readonly number[];
}

export interface ServingTensors {
  readonly inputs: readonly ServingTensor[];
  /** `images` first, then `partial_images_<res>` smallest first. */
  readonly outputs: readonly ServingTensor[];
}

/** What fixes the serving graph's shapes. */
export interface ServingShape {
  readonly contextLength: number;
  readonly zDim: number;
  readonly resolution: number;
  readonly channels: number;
  readonly partials: readonly number[];
}

function tensor(name: string, dtype: ServingDtype, shape: readonly number[]): ServingTensor {
  return { name, dtype, datatype: SERVING_DTYPES[dtype].oip, tritonType: SERVING_DTYPES[dtype].triton, shape };
}

export function servingTensorsFor(s: ServingShape): ServingTensors {
  const image = (name: string, side: number) => tensor(name, 'uint8', [-1, side, side, s.channels]);
  return {
    inputs: [tensor(SERVING_INPUT_IDS, 'int32', [-1, s.contextLength]), tensor(SERVING_Z, 'float32', [-1, s.zDim]), tensor(SERVING_PSI, 'float32', [-1, 1])],
    outputs: [image(SERVING_IMAGES, s.resolution), ...s.partials.map((r) => image(partialImagesName(r), r))],
  };
}

/** The bundle's serving shape, from its manifest (null when it has no serving graph). */
export function servingShape(m: BundleManifest): ServingShape | null {
  if (!m.serving) return null;
  return {
    contextLength: m.tokenizer.contextLength,
    zDim: m.generator.config.z_dim,
    resolution: m.resolution,
    channels: m.generator.config.image_channels,
    partials: m.serving.partials,
  };
}

/**
 * The tensors of the bundle's serving graph (`serving.onnx`), for the runner's model metadata and
 * the Triton config. Throws for a bundle without one (built before it existed: `aurora upgrade`).
 */
export function servingTensors(m: BundleManifest): ServingTensors {
  const shape = servingShape(m);
  if (!shape) throw new RangeError(`bundle ${m.id} has no serving graph (made before it existed): run aurora upgrade on it`);
  return servingTensorsFor(shape);
}
