/** Node-only helpers: bundle folders, onnxruntime-node, reference fixtures, conformance. */
export { readBundleDir, verifyBundleDir, writeBundleDir } from './bundle-dir.ts';
export { bundlesDir, defaultBundlePath, ensureDefaultBundle } from './default-bundle.ts';
export { loadOrtNode, loadOrtWasm } from './ort-node.ts';
export { FixtureDir } from './fixture-dir.ts';
export { conformGenerator } from './conform-generator.ts';
export {
  describeProvider,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  type ExecutionProviderChoice,
  ExecutionProviderError,
  generatorGraphFor,
  isExecutionProviderChoice,
  probeWebGpu,
  type ProviderOptions,
  type ResolvedProvider,
  resolveExecutionProvider,
  sessionOptionsFor,
  type WebGpuAdapter,
  type WebGpuProbe,
} from './execution-providers.ts';
export { type Placements, reportPlacements, summarizeFallback } from './placements.ts';
