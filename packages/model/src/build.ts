/**
 * @aurora-edge/model/build: make graphs and bundles. The typed ONNX graph builder and every layer,
 * the generator and CLIP text encoder graphs, bundle building and packing, and the checkpoint
 * readers (.pth via pickle, .safetensors, TorchScript CLIP). What `aurora convert` and
 * `aurora build-default` use; a runtime that only runs bundles imports '@aurora-edge/model'.
 */
export { type BuiltBundle, type BundleSpec, buildBundle, GPU_GENERATOR_FILE, IMAGE_STAGE_FILE, IMAGE_STAGE_GPU_FILE, TEXT_STAGE_FILE } from './bundle/build.ts';
export { buildTinyBundle, TINY_BUNDLE_ID } from './bundle/aurora-tiny.ts';
export { type GeneratorConfig, type GeneratorConfigInput, generatorConfigSchema, parseGeneratorConfig } from './config/generator-config.ts';
export { GENERATOR_PRESETS, generatorPreset, type PresetName } from './config/presets.ts';
export { buildGenerator, type BuiltGenerator, TEXT_TOKENS } from './generator/generator.ts';
export { buildImageStage, buildTextStage } from './generator/stages.ts';
export { type BuiltServingGraph, buildServingGraph, type ServingGraphSpec } from './serving/serving-graph.ts';
export { encodeServingFiles, SERVING_FILE, SERVING_GPU_FILE } from './bundle/serving-files.ts';
export { encodeModel, type EncodedModel, type ExternalLayout } from './onnx/encode.ts';
export { checkpointProvider, randomProvider, shapeOnlyProvider, sharedProvider } from './onnx/providers.ts';
export type { ParamProvider, ParamSpec } from './onnx/params.ts';
export * from './clip/index.ts';
export * from './weights/index.ts';
