import type { ClipTextConfig } from '../clip/config.ts';
import type { GeneratorConfig } from '../config/generator-config.ts';
import { encodeModel, type ExternalLayout } from '../onnx/encode.ts';
import type { ParamProvider } from '../onnx/params.ts';
import { buildServingGraph } from '../serving/serving-graph.ts';
import type { BundleManifest } from './manifest.ts';

/** The serving graph (manifest serving.graph) and its grouped-MoE form (serving.gpuGraph). */
export const SERVING_FILE = 'serving.onnx';
export const SERVING_GPU_FILE = 'serving-gpu.onnx';

export interface ServingFilesSpec {
  readonly id: string;
  readonly generator: { readonly config: GeneratorConfig; readonly provider: ParamProvider };
  readonly textEncoder: { readonly config: ClipTextConfig; readonly provider: ParamProvider };
  readonly centerCount: number;
  /** Also the grouped-MoE graph (when the bundle has generator-gpu.onnx). */
  readonly gpu: boolean;
  /**
   * The data files already in the bundle, with where each tensor sits: every weight is referenced
   * there (none is written twice). Undefined for a bundle whose graphs embed their weights.
   */
  readonly externalData?: readonly { readonly location: string; readonly layout: ExternalLayout }[];
}

/**
 * Encodes the serving graphs of a bundle: what buildBundle and `aurora upgrade` both write, so an
 * upgraded bundle gets the bytes a fresh build has. Returns the files and the manifest entry.
 */
export function encodeServingFiles(spec: ServingFilesSpec): { files: Map<string, Uint8Array>; entry: NonNullable<BundleManifest['serving']> } {
  const files = new Map<string, Uint8Array>();
  const external = spec.externalData ? { location: '', reuseFrom: spec.externalData } : undefined;
  const base = { generator: spec.generator, textEncoder: spec.textEncoder, centerCount: spec.centerCount };
  const built = buildServingGraph(base);
  files.set(SERVING_FILE, encodeModel(built.graph, { external, docString: `${spec.id} serving graph: input_ids, z, psi -> uint8 images` }).model);
  if (spec.gpu) {
    const gpu = buildServingGraph({ ...base, moe: 'grouped' });
    files.set(SERVING_GPU_FILE, encodeModel(gpu.graph, { external, docString: `${spec.id} serving graph (grouped MoE, for GPU execution providers)` }).model);
  }
  return {
    files,
    entry: {
      graph: SERVING_FILE,
      ...(spec.gpu ? { gpuGraph: SERVING_GPU_FILE } : {}),
      externalData: (spec.externalData ?? []).map((d) => d.location),
      partials: [...built.partials],
    },
  };
}
