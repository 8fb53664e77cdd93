import { buildClipText } from '../clip/text-encoder.ts';
import type { ClipTextConfig } from '../clip/config.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';
import { buildGenerator } from '../generator/generator.ts';
import { buildImageStage, buildTextStage } from '../generator/stages.ts';
import { outputResolution } from '../generator/layout.ts';
import { type EncodedModel, encodeModel } from '../onnx/encode.ts';
import type { ParamProvider } from '../onnx/params.ts';
import { sharedProvider } from '../onnx/providers.ts';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, type BundleManifest, parseBundleManifest } from './manifest.ts';
import { encodeServingFiles } from './serving-files.ts';
import { sha256Hex } from './sha256.ts';

export interface BundleSpec {
  readonly id: string;
  readonly version: string;
  readonly description?: string;
  readonly trained: boolean;
  readonly generator: { readonly config: GeneratorConfig; readonly provider: ParamProvider };
  readonly textEncoder: { readonly config: ClipTextConfig; readonly provider: ParamProvider };
  readonly vocab: { readonly bytes: Uint8Array; readonly mergeCount: number };
  readonly sampling?: { readonly centerCount: number; readonly defaultPsi: number };
  /** Keep weights beside the graphs (default): needed past 2 GB, and it halves wasm heap use. */
  readonly externalData?: boolean;
  /** A trained bundle's run record and eval figures (manifest `training`). */
  readonly training?: BundleManifest['training'];
  /** What a trained model can draw (manifest `prompts`). */
  readonly prompts?: BundleManifest['prompts'];
}

/** Files as chunk lists: a file over 4 GB cannot be one buffer. */
export interface BuiltBundle {
  readonly manifest: BundleManifest;
  readonly files: ReadonlyMap<string, readonly Uint8Array[]>;
}

export const VOCAB_FILE = 'vocab.txt.gz';
export const DEFAULT_SAMPLING = { centerCount: 16, defaultPsi: 0.7 } as const;

/** Builds both graphs, encodes them, hashes every file and writes the manifest. */
export function buildBundle(spec: BundleSpec): BuiltBundle {
  const external = spec.externalData ?? true;
  const files = new Map<string, readonly Uint8Array[]>();
  const addGraph = (name: string, encoded: EncodedModel): string | null => {
    files.set(name, [encoded.model]);
    if (encoded.externalBytes === 0) return null;
    files.set(`${name}.data`, encoded.externalData);
    return `${name}.data`;
  };

  // One set of weight arrays for both generator graphs, so they share one external data file.
  const weights = sharedProvider(spec.generator.provider);
  const gen = buildGenerator(spec.generator.config, weights);
  const genExternal = external ? { location: 'generator.onnx.data' } : undefined;
  const genEncoded = encodeModel(gen.graph, { external: genExternal, docString: `${spec.id} generator` });
  const genData = addGraph('generator.onnx', genEncoded);
  const gpuGraph = hasMoe(spec.generator.config) ? GPU_GENERATOR_FILE : undefined;
  if (gpuGraph) {
    const gpu = encodeModel(buildGenerator(spec.generator.config, weights, { moe: 'grouped' }).graph, {
      external: genExternal,
      docString: `${spec.id} generator (grouped MoE, for GPU execution providers)`,
    });
    if (!sameBytes(gpu.externalData, genEncoded.externalData)) throw new Error('bundle: the GPU generator graph does not lay out its weights as generator.onnx does');
    // Its weights are generator.onnx's (external data), or embedded like them.
    files.set(gpuGraph, [gpu.model]);
  }
  const stages = {
    text: TEXT_STAGE_FILE,
    image: IMAGE_STAGE_FILE,
    ...(gpuGraph ? { imageGpu: IMAGE_STAGE_GPU_FILE } : {}),
  };
  // The stages' weights are generator.onnx's: referenced in its external data, or embedded like them.
  const reuse = external ? { location: 'generator.onnx.data', reuse: genEncoded.layout } : undefined;
  files.set(stages.text, [encodeModel(buildTextStage(spec.generator.config, weights).graph, { external: reuse, docString: `${spec.id} generator, text stage` }).model]);
  files.set(stages.image, [encodeModel(buildImageStage(spec.generator.config, weights).graph, { external: reuse, docString: `${spec.id} generator, image stage` }).model]);
  if (stages.imageGpu) {
    const graph = buildImageStage(spec.generator.config, weights, { moe: 'grouped' }).graph;
    files.set(stages.imageGpu, [encodeModel(graph, { external: reuse, docString: `${spec.id} generator, image stage (grouped MoE)` }).model]);
  }
  // The provider itself (not a shared wrapper): its finish() checks a checkpoint against the tower.
  const text = buildClipText(spec.textEncoder.config, spec.textEncoder.provider);
  const textEncoded = encodeModel(text.graph, { external: external ? { location: 'text-encoder.onnx.data' } : undefined, docString: `${spec.id} text encoder` });
  const textData = addGraph('text-encoder.onnx', textEncoded);
  files.set(VOCAB_FILE, [spec.vocab.bytes]);
  const sampling = spec.sampling ?? DEFAULT_SAMPLING;
  // The serving graph's weights are the text encoder's and the generator's, referenced in their data files.
  const servingData = [
    ...(textData ? [{ location: textData, layout: textEncoded.layout }] : []),
    ...(genData ? [{ location: genData, layout: genEncoded.layout }] : []),
  ];
  const serving = encodeServingFiles({
    id: spec.id,
    generator: { config: spec.generator.config, provider: weights },
    // Providers give the same values for a name every time (seeded by name, or the checkpoint's own arrays).
    textEncoder: { config: spec.textEncoder.config, provider: spec.textEncoder.provider },
    centerCount: sampling.centerCount,
    gpu: gpuGraph !== undefined,
    externalData: external ? servingData : undefined,
  });
  for (const [name, bytes] of serving.files) files.set(name, [bytes]);

  const generatorParams = gen.params.parameterCount();
  const textParams = text.params.parameterCount();
  const manifest = parseBundleManifest({
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    id: spec.id,
    version: spec.version,
    description: spec.description ?? '',
    trained: spec.trained,
    // What the images are, which a config whose ms_training_res stops early makes smaller than `resolution`.
    resolution: outputResolution(spec.generator.config),
    parameters: generatorParams + textParams,
    generator: { graph: 'generator.onnx', gpuGraph, stages, externalData: genData, parameters: generatorParams, config: spec.generator.config, numLayers: gen.layout.numLayers },
    textEncoder: { graph: 'text-encoder.onnx', externalData: textData, parameters: textParams, config: spec.textEncoder.config },
    tokenizer: { type: 'clip-bpe', vocab: VOCAB_FILE, mergeCount: spec.vocab.mergeCount, contextLength: spec.textEncoder.config.contextLength },
    serving: serving.entry,
    sampling,
    ...(spec.training ? { training: spec.training } : {}),
    ...(spec.prompts ? { prompts: spec.prompts } : {}),
    files: Object.fromEntries(
      [...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, chunks]) => [name, { sha256: sha256Hex(chunks), bytes: chunks.reduce((n, c) => n + c.byteLength, 0) }]),
    ),
  });
  return { manifest, files };
}

/** The grouped-MoE generator graph (manifest generator.gpuGraph). */
export const GPU_GENERATOR_FILE = 'generator-gpu.onnx';
/** The generator split after its text head (manifest generator.stages). */
export const TEXT_STAGE_FILE = 'generator-text.onnx';
export const IMAGE_STAGE_FILE = 'generator-image.onnx';
export const IMAGE_STAGE_GPU_FILE = 'generator-image-gpu.onnx';

/** Whether any resolution has a MoE feed-forward (two or more experts). */
function hasMoe(config: GeneratorConfig): boolean {
  return config.include_ff && Object.values(config.num_experts).some((e) => e >= 2);
}

function sameBytes(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    // Views of the same weights are the same bytes.
    if (a[i] === b[i] || (a[i].buffer === b[i].buffer && a[i].byteOffset === b[i].byteOffset && a[i].byteLength === b[i].byteLength)) continue;
    if (a[i].byteLength !== b[i].byteLength) return false;
    for (let j = 0; j < a[i].byteLength; j++) if (a[i][j] !== b[i][j]) return false;
  }
  return true;
}
