/** Node-only helpers: bundle folders, onnxruntime-node, reference fixtures, conformance. */
export { readBundleDir, verifyBundleDir, writeBundleDir } from './bundle-dir.ts';
export { bundlesDir, defaultBundlePath, ensureDefaultBundle } from './default-bundle.ts';
export { loadOrtNode } from './ort-node.ts';
export { FixtureDir } from './fixture-dir.ts';
export { conformGenerator } from './conform-generator.ts';
