/**
 * @aurora-edge/model: the Aurora text-to-image GAN as ONNX graphs built from TypeScript, and
 * everything to go from a prompt to a PNG. This entry is runtime-neutral (Node, browsers,
 * Workers): it takes an onnxruntime module from the caller. Node helpers live in './node'.
 */
export { AuroraPipeline, type GenerateOptions, type GenerateRequest, type GenerateStage, type GeneratedImage } from './pipeline/pipeline.ts';
export { checkPromptText, PromptEncoder, type EncodedPrompts, loadBundleTokenizer, promptTokenIds } from './pipeline/prompt-encoder.ts';
export { createGraphSession, type SessionLoadOptions } from './pipeline/sessions.ts';
export { AuroraInputError } from './pipeline/errors.ts';
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
export { type BundleSource, memoryBundle, readVerified, urlBundle, verifyBundle } from './bundle/bundle.ts';
export { type BuiltBundle, type BundleSpec, buildBundle } from './bundle/build.ts';
export { buildTinyBundle, TINY_BUNDLE_ID } from './bundle/aurora-tiny.ts';
export { BundleError, type BundleManifest, bundleManifestSchema, manifestContentHash, parseBundleManifest } from './bundle/manifest.ts';
export { packBundle, unpackBundle } from './bundle/pack.ts';
export { canonicalJson, sha256Hex } from './bundle/sha256.ts';
export { type GeneratorConfig, generatorConfigSchema, parseGeneratorConfig } from './config/generator-config.ts';
export { GENERATOR_PRESETS, generatorPreset, type PresetName } from './config/presets.ts';
export { buildGenerator, type BuiltGenerator } from './generator/generator.ts';
export { buildImageStage, buildTextStage } from './generator/stages.ts';
export { GeneratorSession, type GeneratorBatch } from './runtime/generator-session.ts';
export type { OrtModule } from './runtime/ort-types.ts';
export { encodeModel, type EncodedModel } from './onnx/encode.ts';
export { checkpointProvider, randomProvider, shapeOnlyProvider } from './onnx/providers.ts';
export * from './clip/index.ts';
export * from './tokenizer/index.ts';
export * from './sampling/index.ts';
export * from './image/index.ts';
export * from './weights/index.ts';
