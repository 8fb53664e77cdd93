/**
 * @aurora-edge/model: run a bundle. Prompt -> PNG (and prompt interpolation) on any onnxruntime the
 * caller passes in, in Node, browsers and Workers alike: the pipeline, bundle loading and its
 * integrity checks, the tokenizer, the seeded sampler and image output. Other entries:
 *   '@aurora-edge/model/build'  build graphs and bundles, import checkpoints (graph builder, onnx-proto, pickle)
 *   '@aurora-edge/model/node'   Node-only file access: bundle folders, onnxruntime-node, fixtures, conformance
 * The package has no import-time side effects (package.json "sideEffects": false).
 */
export {
  AuroraPipeline,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateStage,
  type GeneratedImage,
  type PartialImage,
  type PipelineLoadOptions,
} from './pipeline/pipeline.ts';
export { type NhwcDims, type ServingBatch, type ServingImages, ServingSession } from './runtime/serving-session.ts';
export {
  partialImagesName,
  SERVING_DTYPES,
  SERVING_IMAGES,
  SERVING_INPUT_IDS,
  SERVING_PSI,
  SERVING_Z,
  type ServingDtype,
  type ServingShape,
  type ServingTensor,
  type ServingTensors,
  servingShape,
  servingTensors,
  servingTensorsFor,
} from './serving/tensors.ts';
export {
  AuroraInterpolator,
  blendCodes,
  type FramesOptions,
  GeneratorStages,
  type Interpolation,
  type InterpolationFrame,
  type InterpolateRequest,
  interpolationWeights,
  MAX_CENTER_COUNT,
  MAX_INTERPOLATION_STEPS,
} from './pipeline/interpolation.ts';
export { checkPromptText, PromptEncoder, type EncodedPrompts, loadBundleTokenizer, promptTokenIds } from './pipeline/prompt-encoder.ts';
export { createGraphSession, type SessionLoadOptions } from './pipeline/sessions.ts';
export { AuroraInputError } from './pipeline/errors.ts';
export { type BundleSource, memoryBundle, readVerified, urlBundle, verifyBundle } from './bundle/bundle.ts';
export { BundleError, type BundleManifest, bundleManifestSchema, manifestContentHash, parseBundleManifest } from './bundle/manifest.ts';
export { canonicalJson, sha256Hex } from './bundle/sha256.ts';
export type { GeneratorConfig } from './config/generator-config.ts';
export { GeneratorSession, type GeneratorBatch } from './runtime/generator-session.ts';
export type { OrtModule } from './runtime/ort-types.ts';
export { SerialQueue } from './runtime/serial-queue.ts';
export { CLIP_CONTEXT_LENGTH, type ClipTextConfig } from './clip/config.ts';
export * from './tokenizer/index.ts';
export * from './sampling/index.ts';
export * from './image/index.ts';
